package dev.backstop.kit.archive;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * An archive file written in one pass whose first {@code headLength} bytes are known only at its end
 * (a tar header states the size of the dump that follows it): the body is written as it comes, behind
 * room kept for the head, and the head is written into that room by {@link #finish}. Stored as it is
 * ({@link #plain}) or encrypted ({@link ArchiveCipher#headLast}), where the head's room is the start of
 * the first encrypted segment, which is encrypted last.
 *
 * <p>While the body is written its pages are forced to disk every {@link #FLUSH_EVERY}, so that the
 * store's fsync at the end (a backup is durable before it is announced) finds little left to write.
 * Not thread-safe: one writer.
 */
public interface HeadLastFile extends Closeable {

  Duration FLUSH_EVERY = Duration.ofMillis(200);

  /** Where the bytes after the head go, in order. Closing it does nothing: {@link #finish} ends the file. */
  OutputStream body();

  /** Writes {@code head} (exactly {@code headLength} bytes) in front of the body and ends the file. */
  void finish(byte[] head) throws IOException;

  /** The whole file's plaintext as it now is on disk, head first; after {@link #finish}. */
  InputStream plaintext() throws IOException;

  /** Releases the file; one not finished is deleted. */
  @Override
  void close() throws IOException;

  /** An archive stored as it is. */
  static HeadLastFile plain(Path file, int headLength) throws IOException {
    return new Plain(file, headLength);
  }

  /** Stored as it is: the body from byte {@code headLength} on, the head written over the zeros before it. */
  final class Plain implements HeadLastFile {
    private final int headLength;
    private final Written file;
    private final OutputStream body;

    private Plain(Path path, int headLength) throws IOException {
      this.headLength = headLength;
      this.file = new Written(path);
      file.channel().position(headLength);
      this.body = new BufferedOutputStream(Channels.newOutputStream(file.channel()), 1 << 20) {
        @Override
        public void close() throws IOException {
          // the file is ended by finish()
          flush();
        }
      };
    }

    @Override
    public OutputStream body() {
      return body;
    }

    @Override
    public void finish(byte[] head) throws IOException {
      if (head.length != headLength) {
        throw new IllegalArgumentException("a head of " + head.length + " bytes where " + headLength + " were kept");
      }
      body.flush();
      file.write(ByteBuffer.wrap(head), 0);
      file.finished();
    }

    @Override
    public InputStream plaintext() throws IOException {
      return Files.newInputStream(file.path());
    }

    @Override
    public void close() throws IOException {
      file.close();
    }
  }

  /**
   * The file being written: created empty, its pages forced to disk every {@link #FLUSH_EVERY} until it is
   * closed, and deleted then unless {@link #finished}.
   */
  final class Written implements Closeable {
    private final Path path;
    private final FileChannel channel;
    private final Thread flusher;
    private volatile boolean closing;
    private boolean finished;

    Written(Path path) throws IOException {
      this.path = path;
      this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING);
      this.flusher = Thread.ofVirtual().name("archive-flush").start(() -> {
        try {
          while (!closing) {
            Thread.sleep(FLUSH_EVERY);
            // once the channel is closed, this throws and the loop ends
            channel.force(false);
          }
        } catch (InterruptedException | IOException e) {
          // done: the writer finished or failed
        }
      });
    }

    Path path() {
      return path;
    }

    FileChannel channel() {
      return channel;
    }

    /** Writes all of {@code bytes} at {@code position}. */
    void write(ByteBuffer bytes, long position) throws IOException {
      long at = position;
      while (bytes.hasRemaining()) {
        at += channel.write(bytes, at);
      }
    }

    /** The file is whole: closing keeps it. */
    void finished() {
      finished = true;
    }

    @Override
    public void close() throws IOException {
      try {
        channel.close();
      } finally {
        // only once the channel is closed: an interrupt during a force would close it under the writer
        closing = true;
        flusher.interrupt();
        if (!finished) {
          Files.deleteIfExists(path);
        }
      }
    }
  }
}
