package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.OutputStream;

/** A sink that counts the writes a dump reaches it in, and their bytes. */
public final class WriteCounter extends OutputStream {

  private final OutputStream next;
  private long writes;
  private long bytes;

  public WriteCounter(OutputStream next) {
    this.next = next;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    writes++;
    bytes += len;
    next.write(b, off, len);
  }

  public long writes() {
    return writes;
  }

  public long bytes() {
    return bytes;
  }
}
