package dev.backstop.inprocess;

/** A MongoDB server a test or the embedded mode talks to; closing stops it. */
public interface MongoHandle extends AutoCloseable {

  /** The connection string, {@code mongodb://host:port}. */
  String uri();

  @Override
  void close();
}
