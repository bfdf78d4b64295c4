package dev.backstop.worker.archive;

import dev.backstop.kit.archive.ArchiveFormat;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The archive customers download, written while the dump runs: a tar holding one file, the dump,
 * compressed as {@link ArchiveFormat} says.
 *
 * <p>A tar header states the size of its entry, known only once the dump has ended; spooling the
 * whole dump to disk first would serialise dumping and compressing. Instead the dump is compressed
 * as it arrives into a scratch file, and the archive is assembled at the end from three frames (zstd)
 * or members (gzip): the tar header, the body, and the padding with the end-of-archive records.
 * Decompressors read such a sequence as one stream, so stock {@code tar} reads the archive as usual.
 * The assembly pass measures the size and SHA-256 customers will see, and can encrypt on the way.
 */
public final class StreamingArchive implements Closeable {

  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC);
  private static final int RECORD = 512;
  /** GNU tar's default blocking factor: archives are padded to whole 10 KiB blocks, as tar writes them. */
  private static final int BLOCK = 20 * RECORD;
  private static final Duration FLUSH_EVERY = Duration.ofMillis(200);

  /** The assembled archive: where it is, how big, and its checksum (lower-case hex); {@code dumpSize} is the tar entry's. */
  public record Packed(Path file, long size, String sha256, long dumpSize) {}

  /** Wraps the archive file's stream, e.g. to encrypt it; the identity when stored as it is. */
  @FunctionalInterface
  public interface Wrapper {
    OutputStream wrap(OutputStream file) throws IOException;
  }

  private final ArchiveFormat format;
  private final int level;
  private final Path body;
  private final Counting compressed;
  private final Counting dump;
  private boolean bodyClosed;
  private volatile String abortReason;
  private volatile long firstByteNanos;

  private StreamingArchive(ArchiveFormat format, int level, int threads, Path body) throws IOException {
    this.format = format;
    this.level = level;
    this.body = body;
    this.compressed = new Counting(new BufferedOutputStream(Files.newOutputStream(body), 1 << 20));
    this.dump = new Counting(format.compressing(compressed, level, threads)) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (abortReason != null) {
          throw new IOException(abortReason);
        }
        if (firstByteNanos == 0 && len > 0) {
          firstByteNanos = System.nanoTime();
        }
        super.write(b, off, len);
      }
    };
  }

  /** Makes the next write to {@link #dump()} fail with {@code reason}, from any thread; the dump tool is then stopped. */
  public void abort(String reason) {
    abortReason = reason;
  }

  /** Starts an archive whose compressed body is spooled to {@code scratch/body}. */
  public static StreamingArchive start(ArchiveFormat format, int level, int threads, Path scratch) throws IOException {
    return new StreamingArchive(format, level, threads, scratch.resolve("body" + format.extension()));
  }

  /** {@code YYYYMMDDhhmmss_<dbname>.tar.zst} (or {@code .tar.gz}), the time in UTC. */
  public static String archiveName(Instant startedAt, String database, ArchiveFormat format) {
    return STAMP.format(startedAt) + "_" + database + format.extension();
  }

  /** Where the dump tool's output goes. Not thread-safe: one writer. */
  public OutputStream dump() {
    return dump;
  }

  /**
   * {@link System#nanoTime()} when the dump tool's first byte arrived, or 0 before it: the time a dump
   * tool spends before writing (locks, catalog reads) is a phase of its own in a slow backup.
   */
  public long firstByteNanos() {
    return firstByteNanos;
  }

  /** Dump bytes received so far; safe to read from any thread. */
  public long dumpedBytes() {
    return dump.count.get();
  }

  /** Compressed bytes spooled so far; safe to read from any thread. */
  public long storedBytes() {
    return compressed.count.get();
  }

  /**
   * Ends the body and writes the whole archive to {@code target} through {@code wrapper}. The size and
   * SHA-256 are those of the archive itself, before the wrapper (what customers download).
   */
  public Packed finish(String entryName, Instant modified, Path target, Wrapper wrapper) throws IOException {
    closeBody();
    long size = dump.count.get();
    byte[] records = tarHeader(entryName, size, modified);
    long tarLength = records.length + size;
    long end = roundUp(roundUp(tarLength, RECORD) + 2L * RECORD, BLOCK);
    byte[] header = format.frame(records, level);
    byte[] trailer = format.frame(new byte[Math.toIntExact(end - tarLength)], level);
    MessageDigest sha256 = sha256();
    Counting archive;
    try (FileChannel channel = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING);
        Flusher flusher = new Flusher(channel);
        OutputStream file = wrapper.wrap(new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 20))) {
      archive = new Counting(new DigestOutputStream(file, sha256));
      archive.write(header);
      try (InputStream in = Files.newInputStream(body)) {
        byte[] buffer = new byte[1 << 20];
        for (int n; (n = in.read(buffer)) > 0; ) {
          archive.write(buffer, 0, n);
        }
      }
      archive.write(trailer);
      archive.flush();
    }
    Files.deleteIfExists(body);
    return new Packed(target, archive.count.get(), HexFormat.of().formatHex(sha256.digest()), size);
  }

  /**
   * Writes the archive's pages to disk every {@link #FLUSH_EVERY} while it is assembled, so that the
   * store's fsync at the end (a backup is durable before it is announced) finds little left to write.
   */
  private static final class Flusher implements Closeable {
    private final Thread thread;
    private volatile boolean done;

    Flusher(FileChannel channel) {
      thread = Thread.ofVirtual().name("archive-flush").start(() -> {
        try {
          while (!done) {
            Thread.sleep(FLUSH_EVERY);
            // after the writer has closed the channel, this throws and the loop ends
            channel.force(false);
          }
        } catch (InterruptedException | IOException e) {
          // done: the writer finished or failed
        }
      });
    }

    /** Stops; called once the writer has closed the channel (an interrupt during a force would close it). */
    @Override
    public void close() {
      done = true;
      thread.interrupt();
    }
  }

  /** Drops what was written (a failed attempt); the scratch file goes too. */
  @Override
  public void close() throws IOException {
    try {
      closeBody();
    } finally {
      Files.deleteIfExists(body);
    }
  }

  private void closeBody() throws IOException {
    if (!bodyClosed) {
      bodyClosed = true;
      dump.close();
    }
  }

  /**
   * The records in front of the entry's data, as commons-compress writes them: a PAX header first if
   * the name is longer than 100 bytes or the size above 8 GiB, then the ustar header.
   */
  static byte[] tarHeader(String entryName, long size, Instant modified) throws IOException {
    ByteArrayOutputStream records = new ByteArrayOutputStream();
    // a block of one record, so that every header record reaches the buffer as it is written
    @SuppressWarnings("resource") // closing would pad an entry whose data is written elsewhere
    TarArchiveOutputStream tar = new TarArchiveOutputStream(records, RECORD);
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    TarArchiveEntry entry = new TarArchiveEntry(entryName);
    entry.setSize(size);
    entry.setModTime(modified.toEpochMilli());
    entry.setMode(0644);
    entry.setUserName("backstop");
    entry.setGroupName("backstop");
    tar.putArchiveEntry(entry);
    return records.toByteArray();
  }

  private static long roundUp(long value, int unit) {
    return (value + unit - 1) / unit * unit;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Counts what passes; the count can be read from another thread (progress reports). */
  private static class Counting extends FilterOutputStream {
    private final AtomicLong count = new AtomicLong();

    Counting(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count.incrementAndGet();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count.addAndGet(len);
    }
  }
}
