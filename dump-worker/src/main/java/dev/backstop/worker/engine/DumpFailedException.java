package dev.backstop.worker.engine;

/** A dump that did not produce a usable file; the message is shown to the customer as it is. */
public class DumpFailedException extends Exception {
  public DumpFailedException(String reason) {
    super(reason);
  }
}
