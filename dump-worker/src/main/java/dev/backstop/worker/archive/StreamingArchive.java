package dev.backstop.worker.archive;

import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.HeadLastFile;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
 * <p>A tar header states the size of its entry, known only once the dump has ended. The archive is
 * therefore a sequence of three frames (zstd) or members (gzip), which decompressors read as one
 * stream, so stock {@code tar} reads it as usual: the tar header, stored uncompressed so that its length
 * does not depend on the size it states; the dump, compressed as it arrives; the padding with the
 * end-of-archive records. The body is written (and encrypted, where archives are) into the archive file
 * while the dump runs, behind room kept for the header, which is written into it at the end
 * ({@link HeadLastFile}): the archive is written once. Its size and SHA-256, what customers download and
 * check, are measured by reading it back, decrypted where it is encrypted.
 */
public final class StreamingArchive implements Closeable {

  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC);
  private static final int RECORD = 512;
  /** GNU tar's default blocking factor: archives are padded to whole 10 KiB blocks, as tar writes them. */
  private static final int BLOCK = 20 * RECORD;

  /** The assembled archive: where it is, how big, and its checksum (lower-case hex); {@code dumpSize} is the tar entry's. */
  public record Packed(Path file, long size, String sha256, long dumpSize) {}

  /** Opens the archive file with room for a head of {@code headLength} bytes: {@link HeadLastFile#plain}, or encrypted. */
  @FunctionalInterface
  public interface Target {
    HeadLastFile open(Path file, int headLength) throws IOException;
  }

  private final ArchiveFormat format;
  private final int level;
  private final String entryName;
  private final Instant modified;
  private final Path file;
  private final HeadLastFile archive;
  private final Counting compressed;
  private final Counting dump;
  private boolean bodyClosed;
  private volatile String abortReason;
  private volatile long firstByteNanos;

  private StreamingArchive(ArchiveFormat format, int level, int threads, String entryName, Instant modified, Path file,
      HeadLastFile archive) throws IOException {
    this.format = format;
    this.level = level;
    this.entryName = entryName;
    this.modified = modified;
    this.file = file;
    this.archive = archive;
    this.compressed = new Counting(archive.body());
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

  /**
   * Starts an archive of one entry, {@code entryName} modified at {@code modified}, written to {@code file}
   * as {@code target} opens it.
   */
  public static StreamingArchive start(ArchiveFormat format, int level, int threads, String entryName, Instant modified,
      Path file, Target target) throws IOException {
    HeadLastFile archive = target.open(file, format.storedFrame(tarHeader(entryName, 0, modified)).length);
    try {
      return new StreamingArchive(format, level, threads, entryName, modified, file, archive);
    } catch (IOException | RuntimeException | Error e) {
      // a compressor that cannot start (a bad level, no native memory) must not leave the file and its flusher behind
      try {
        archive.close();
      } catch (IOException | RuntimeException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  /** Makes the next write to {@link #dump()} fail with {@code reason}, from any thread; the dump tool is then stopped. */
  public void abort(String reason) {
    abortReason = reason;
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

  /** Compressed bytes written so far; safe to read from any thread. */
  public long storedBytes() {
    return compressed.count.get();
  }

  /**
   * Ends the dump, writes the padding and the tar header, and measures the archive by reading it back.
   * The size and SHA-256 are those of the archive itself, before any encryption (what customers download).
   */
  public Packed finish() throws IOException {
    closeBody();
    long size = dump.count.get();
    byte[] records = tarHeader(entryName, size, modified);
    long tarLength = records.length + size;
    long end = roundUp(roundUp(tarLength, RECORD) + 2L * RECORD, BLOCK);
    archive.body().write(format.frame(new byte[Math.toIntExact(end - tarLength)], level));
    archive.finish(format.storedFrame(records));
    MessageDigest sha256 = sha256();
    long length = 0;
    try (InputStream in = archive.plaintext()) {
      byte[] buffer = new byte[1 << 20];
      for (int n; (n = in.read(buffer)) > 0; ) {
        sha256.update(buffer, 0, n);
        length += n;
      }
    }
    return new Packed(file, length, HexFormat.of().formatHex(sha256.digest()), size);
  }

  /** Drops what was written unless finished (a failed attempt). */
  @Override
  public void close() throws IOException {
    try {
      closeBody();
    } finally {
      archive.close();
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
   * the name is longer than 100 bytes, then the ustar header. A size from 8 GiB on is written in the size
   * field in base 256 (GNU tar's and star's encoding, which GNU tar, bsdtar and Python read), not as a PAX
   * record: the records' length must not depend on the size, which is known only after they are placed.
   */
  static byte[] tarHeader(String entryName, long size, Instant modified) throws IOException {
    ByteArrayOutputStream records = new ByteArrayOutputStream();
    // a block of one record, so that every header record reaches the buffer as it is written
    @SuppressWarnings("resource") // closing would pad an entry whose data is written elsewhere
    TarArchiveOutputStream tar = new TarArchiveOutputStream(records, RECORD);
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
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
