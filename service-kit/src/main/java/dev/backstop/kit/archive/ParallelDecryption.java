package dev.backstop.kit.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The plaintext of an encrypted archive, decrypted on several threads at once and read in order.
 *
 * <p>Each thread reads through a seekable decrypting channel of its own and takes the next chunk of
 * whole segments ({@link Geometry}), so no segment is decrypted twice; at most {@code ahead} chunks
 * wait decrypted, which bounds the memory at {@code ahead} segments whatever the archive's size.
 * {@link #transferTo} hands each decrypted chunk to the sink as it is, without a further copy.
 */
final class ParallelDecryption extends InputStream {

  /** Opens a decrypting channel over the archive; each worker gets its own. */
  @FunctionalInterface
  interface Channels {
    SeekableByteChannel open() throws IOException;
  }

  /**
   * Where segments fall in the plaintext: segment {@code k ≥ 1} starts at {@code k × segment − firstOffset},
   * the first segment being shorter by the header.
   */
  record Geometry(int segment, int firstOffset) {
    long segmentStart(long k) {
      return k == 0 ? 0 : k * segment - firstOffset;
    }

    long segmentOf(long position) {
      return (position + firstOffset) / segment;
    }
  }

  private record Chunk(byte[] bytes, int length, boolean last) {}

  private record Failure(IOException error) {}

  private static final Chunk END = new Chunk(new byte[0], 0, true);

  private final Geometry geometry;
  private final long start;
  private final long end;
  private final long firstSegment;
  private final int segmentsPerChunk;
  private final Object[] ready;
  private final Semaphore free;
  private final BlockingQueue<byte[]> buffers;
  private final AtomicLong next = new AtomicLong();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition arrived = lock.newCondition();
  private final List<Thread> workers = new ArrayList<>();
  private volatile boolean closed;
  private long cursor;
  private Chunk current;
  private int position;
  private boolean ended;

  /**
   * Starts decrypting plaintext bytes {@code [start, end)} ({@code end} may lie past the archive's end).
   *
   * @param threads workers, each with its own channel
   * @param ahead chunks decrypted ahead of the reader at most
   */
  ParallelDecryption(Channels channels, Geometry geometry, long start, long end, int segmentsPerChunk, int threads, int ahead) {
    this.geometry = geometry;
    this.start = start;
    this.end = end;
    this.firstSegment = geometry.segmentOf(start);
    this.segmentsPerChunk = segmentsPerChunk;
    this.ready = new Object[ahead];
    this.free = new Semaphore(ahead);
    this.buffers = new ArrayBlockingQueue<>(ahead);
    for (int i = 0; i < threads; i++) {
      workers.add(Thread.ofVirtual().name("decrypt-" + i).start(() -> work(channels)));
    }
  }

  private long chunkStart(long i) {
    return Math.max(start, geometry.segmentStart(firstSegment + i * segmentsPerChunk));
  }

  private long chunkEnd(long i) {
    return Math.min(end, geometry.segmentStart(firstSegment + (i + 1) * segmentsPerChunk));
  }

  private void work(Channels channels) {
    try (SeekableByteChannel channel = channels.open()) {
      while (!closed) {
        free.acquire();
        long i = next.getAndIncrement();
        long from = chunkStart(i);
        if (from >= end) {
          deliver(i, END);
          return;
        }
        int wanted = Math.toIntExact(chunkEnd(i) - from);
        byte[] bytes = buffers.poll();
        if (bytes == null || bytes.length < wanted) {
          bytes = new byte[geometry.segment() * segmentsPerChunk];
        }
        ByteBuffer into = ByteBuffer.wrap(bytes, 0, wanted);
        channel.position(from);
        while (into.hasRemaining() && channel.read(into) > 0) {
          // a channel may return fewer bytes than asked; it returns -1 at the end of the plaintext
        }
        int length = into.position();
        boolean last = length < wanted || from + length >= end;
        deliver(i, new Chunk(bytes, length, last));
        if (last) {
          return;
        }
      }
    } catch (InterruptedException e) {
      // closed by the reader
    } catch (IOException e) {
      deliverFailure(e);
    } catch (RuntimeException e) {
      deliverFailure(new IOException(e.getMessage(), e));
    }
  }

  private void deliverFailure(IOException e) {
    // the failure takes the place of the next chunk the reader waits for, so it surfaces in order
    lock.lock();
    try {
      ready[(int) (cursor % ready.length)] = new Failure(e);
      arrived.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void deliver(long i, Chunk chunk) {
    lock.lock();
    try {
      int slot = (int) (i % ready.length);
      if (!(ready[slot] instanceof Failure)) {
        ready[slot] = chunk;
      }
      arrived.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The next chunk in order, waiting for it. */
  private Chunk take() throws IOException {
    lock.lock();
    try {
      int slot = (int) (cursor % ready.length);
      while (ready[slot] == null) {
        arrived.await();
      }
      Object taken = ready[slot];
      if (taken instanceof Failure failure) {
        throw new IOException(failure.error().getMessage(), failure.error());
      }
      ready[slot] = null;
      cursor++;
      return (Chunk) taken;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while decrypting");
    } finally {
      lock.unlock();
    }
  }

  /** Gives a chunk's buffer back once its bytes are used, letting the workers decrypt one more. */
  private void recycle(Chunk chunk) {
    if (chunk != END) {
      buffers.offer(chunk.bytes());
    }
    free.release();
  }

  /** Makes {@link #current} a chunk with bytes left, if any remain. */
  private boolean advance() throws IOException {
    while (current == null || position == current.length()) {
      if (ended) {
        return false;
      }
      if (current != null) {
        recycle(current);
        if (current.last()) {
          ended = true;
          current = null;
          return false;
        }
      }
      current = take();
      position = 0;
    }
    return true;
  }

  @Override
  public int read() throws IOException {
    return advance() ? current.bytes()[position++] & 0xff : -1;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (!advance()) {
      return -1;
    }
    int n = Math.min(len, current.length() - position);
    System.arraycopy(current.bytes(), position, b, off, n);
    position += n;
    return n;
  }

  /** Writes the rest of the plaintext to {@code out}, each decrypted chunk in one write. */
  @Override
  public long transferTo(OutputStream out) throws IOException {
    long total = 0;
    while (advance()) {
      int n = current.length() - position;
      out.write(current.bytes(), position, n);
      position += n;
      total += n;
    }
    return total;
  }

  @Override
  public void close() {
    closed = true;
    workers.forEach(Thread::interrupt);
  }
}
