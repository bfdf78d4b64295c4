package dev.backstop.worker.archive;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Packs a dump into the {@code .tar.gz} customers download, measuring its size and SHA-256 on the way. */
public final class ArchivePacker {

  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC);

  /** The packed archive: where it is, how big, and its checksum (lower-case hex). */
  public record Packed(Path file, String name, long size, String sha256) {}

  private ArchivePacker() {}

  /** {@code YYYYMMDDhhmmss_<dbname>.tar.gz}, the time in UTC. */
  public static String archiveName(Instant startedAt, String database) {
    return STAMP.format(startedAt) + "_" + database + ".tar.gz";
  }

  public static Packed pack(Path dump, String entryName, Instant modified, Path target) throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (OutputStream file = Files.newOutputStream(target);
        CountingOutputStream counted = new CountingOutputStream(new DigestOutputStream(new BufferedOutputStream(file, 1 << 16), sha256));
        GZIPOutputStream gzip = new FastGzip(counted);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      TarArchiveEntry entry = new TarArchiveEntry(entryName);
      entry.setSize(Files.size(dump));
      entry.setModTime(modified.toEpochMilli());
      entry.setMode(0644);
      tar.putArchiveEntry(entry);
      Files.copy(dump, tar);
      tar.closeArchiveEntry();
      tar.finish();
      gzip.finish();
      counted.flush();
      return new Packed(target, target.getFileName().toString(), counted.count(), HexFormat.of().formatHex(sha256.digest()));
    }
  }

  /** pg_dump's custom format is compressed already: gzip at its fastest level only wraps it. */
  private static final class FastGzip extends GZIPOutputStream {
    FastGzip(OutputStream out) throws IOException {
      super(out, 1 << 16);
      def.setLevel(Deflater.BEST_SPEED);
    }
  }

  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    private long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    long count() {
      return count;
    }
  }
}
