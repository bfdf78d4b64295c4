package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A restore client's standard input, fed by a loader that splits one dump between several clients: slices
 * queued by the loader's thread, read by {@link ExternalCommand}'s feeder. A few slices wait at most, so
 * a client that falls behind holds the loader back rather than the dump piling up in memory.
 *
 * <p>Either side can give up: the loader {@link #abort}s (the next read fails, and ExternalCommand kills
 * the client), and a client that exits ({@link #exited}) makes the loader's next {@link #put} fail its
 * liveness check instead of waiting forever for room.
 */
public final class QueuedInput extends InputStream {

  /** What the loader checks while it waits for room: throws when the load is to stop. */
  public interface Check {
    void check() throws IOException;
  }

  private record Slice(byte[] bytes, int off, int len) {}

  private static final Slice END = new Slice(new byte[0], 0, 0);
  private final ArrayBlockingQueue<Slice> queue;
  private Slice current;
  private int position;
  private boolean ended;
  private volatile IOException abort;
  private volatile boolean exited;

  /** @param slices how many slices may wait for the client */
  public QueuedInput(int slices) {
    queue = new ArrayBlockingQueue<>(slices);
  }

  /** Queues {@code len} bytes of {@code b}, which the caller no longer changes; waits for room, checking {@code alive}. */
  public void put(byte[] b, int off, int len, Check alive) throws IOException {
    put(new Slice(b, off, len), alive);
  }

  private void put(Slice slice, Check alive) throws IOException {
    try {
      do {
        alive.check();
        if (abort != null) {
          throw abort;
        }
      } while (!queue.offer(slice, 50, TimeUnit.MILLISECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("the restore was interrupted (worker shutting down)");
    }
  }

  /** The end of the client's input: its reads return -1 once the slices before it are read. */
  public void end() throws IOException {
    put(END, () -> {});
  }

  /** The client's input fails at its next read: ExternalCommand kills the client. */
  public void abort(IOException reason) {
    abort = reason;
    queue.clear();
  }

  /** The client is gone (exited, killed, or its input closed): nothing queued will be read. */
  public void exited() {
    exited = true;
    queue.clear();
  }

  /** Whether the client is gone. */
  public boolean isExited() {
    return exited;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    while (current == null || position == current.len()) {
      if (abort != null) {
        throw abort;
      }
      if (ended || exited) {
        return -1;
      }
      try {
        Slice next = queue.poll(50, TimeUnit.MILLISECONDS);
        if (next == END) {
          ended = true;
        } else if (next != null) {
          current = next;
          position = 0;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("the restore was interrupted (worker shutting down)");
      }
    }
    int n = Math.min(len, current.len() - position);
    System.arraycopy(current.bytes(), current.off() + position, b, off, n);
    position += n;
    return n;
  }

  @Override
  public void close() {
    // ExternalCommand closes a stalled input to unblock its feeder: the next read ends it
    exited = true;
  }
}
