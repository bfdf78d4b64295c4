package dev.backstop.kit.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Reads a stream ahead on a thread of its own, a few chunks at most: decrypting the next megabytes
 * while the caller sends the previous ones uses two cores where one would do both in turn.
 */
final class ReadAhead extends InputStream {

  private static final byte[] END = new byte[0];

  private final BlockingQueue<Object> chunks;
  private final Thread reader;
  private byte[] current = new byte[0];
  private int position;
  private boolean ended;

  ReadAhead(InputStream source, int chunkSize, int chunksAhead) {
    this.chunks = new ArrayBlockingQueue<>(chunksAhead);
    this.reader = Thread.ofVirtual().name("read-ahead").start(() -> {
      try (source) {
        while (true) {
          byte[] chunk = source.readNBytes(chunkSize);
          if (chunk.length == 0) {
            break;
          }
          chunks.put(chunk.length == chunkSize ? chunk : Arrays.copyOf(chunk, chunk.length));
        }
        chunks.put(END);
      } catch (InterruptedException e) {
        // the reader was closed early
      } catch (IOException | RuntimeException e) {
        try {
          chunks.put(e);
        } catch (InterruptedException ignored) {
          // closed meanwhile
        }
      }
    });
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (position == current.length) {
      if (ended) {
        return -1;
      }
      Object next;
      try {
        next = chunks.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while reading ahead");
      }
      if (next instanceof IOException e) {
        throw new IOException(e.getMessage(), e);
      }
      if (next instanceof RuntimeException e) {
        throw e;
      }
      current = (byte[]) next;
      position = 0;
      ended = current == END;
    }
    int n = Math.min(len, current.length - position);
    System.arraycopy(current, position, b, off, n);
    position += n;
    return n;
  }

  @Override
  public void close() {
    reader.interrupt();
  }
}
