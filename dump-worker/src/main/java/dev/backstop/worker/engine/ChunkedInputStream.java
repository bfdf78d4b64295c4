package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.InputStream;

/**
 * A stream that produces its bytes in chunks: a single byte is read as a chunk of one, and a read of no
 * bytes reads nothing, so that a subclass writes only {@link #readChunk}.
 */
public abstract class ChunkedInputStream extends InputStream {

  @Override
  public final int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public final int read(byte[] b, int off, int len) throws IOException {
    return len == 0 ? 0 : readChunk(b, off, len);
  }

  /**
   * Reads 1 to {@code len} bytes, waiting for at least one; -1 at the end.
   *
   * @param len at least 1
   */
  protected abstract int readChunk(byte[] b, int off, int len) throws IOException;
}
