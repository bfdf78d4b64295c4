package dev.backstop.kit.archive;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * How the tar customers download is compressed: written by the dump-worker's {@code StreamingArchive},
 * read back by {@link ArchiveReader}. Both formats read concatenated frames (zstd) or members (gzip) as
 * one stream, which lets the writer put the tar header last. An archive's format is the one its name
 * (as its {@code BackupCompleted} recorded it) ends with: {@link #ofName}.
 */
public enum ArchiveFormat {

  /**
   * {@code .tar.zst}: the default. At level 1, zstd keeps up with {@code pg_dump -Z0} and writes
   * smaller archives than {@code pg_dump -Fc}'s own gzip, which is the slowest part of a plain
   * {@code pg_dump -Fc} (docs/benchmarks.md). Stock tools read it: {@code tar --zstd -xf}.
   */
  ZSTD(".tar.zst", "application/zstd", 1) {
    @Override
    public InputStream decompressing(InputStream in) throws IOException {
      return new ZstdInputStreamNoFinalizer(in);
    }

    @Override
    public OutputStream compressing(OutputStream out, int level, int threads) throws IOException {
      ZstdOutputStreamNoFinalizer zstd = new ZstdOutputStreamNoFinalizer(out, level);
      zstd.setChecksum(true);
      if (threads > 1) {
        zstd.setWorkers(threads);
      }
      return zstd;
    }

    @Override
    public byte[] frame(byte[] data, int level) {
      return Zstd.compress(data, level);
    }

    @Override
    public byte[] storedFrame(byte[] data) {
      // RFC 8878: the magic number; a frame header descriptor saying one segment, a 4-byte content size and
      // no checksum; that size; then raw (stored) blocks of at most 128 KiB, the last one flagged
      int blocks = Math.max(1, (data.length + RAW_BLOCK - 1) / RAW_BLOCK);
      ByteBuffer frame = ByteBuffer.allocate(4 + 1 + 4 + 3 * blocks + data.length).order(ByteOrder.LITTLE_ENDIAN);
      frame.putInt(0xFD2FB528).put((byte) 0xA0).putInt(data.length);
      for (int block = 0, at = 0; block < blocks; block++) {
        int length = Math.min(RAW_BLOCK, data.length - at);
        int blockHeader = length << 3 | (block == blocks - 1 ? 1 : 0);
        frame.put((byte) blockHeader).put((byte) (blockHeader >>> 8)).put((byte) (blockHeader >>> 16));
        frame.put(data, at, length);
        at += length;
      }
      return frame.array();
    }
  },

  /** {@code .tar.gz}, the reference product's format: one thread, several times slower on large dumps. */
  GZIP(".tar.gz", "application/gzip", 6) {
    @Override
    public InputStream decompressing(InputStream in) throws IOException {
      return new GZIPInputStream(in, 1 << 16);
    }

    @Override
    public OutputStream compressing(OutputStream out, int level, int threads) throws IOException {
      return new GZIPOutputStream(out, 1 << 16) {
        {
          def.setLevel(level);
        }
      };
    }

    @Override
    public byte[] frame(byte[] data, int level) throws IOException {
      ByteArrayOutputStream member = new ByteArrayOutputStream();
      try (OutputStream gzip = compressing(member, level, 1)) {
        gzip.write(data);
      }
      return member.toByteArray();
    }

    @Override
    public byte[] storedFrame(byte[] data) throws IOException {
      return frame(data, Deflater.NO_COMPRESSION);
    }
  };

  /** The largest block of a zstd frame (RFC 8878, Block_Maximum_Size). */
  private static final int RAW_BLOCK = 128 * 1024;

  private final String extension;
  private final String mediaType;
  private final int defaultLevel;

  ArchiveFormat(String extension, String mediaType, int defaultLevel) {
    this.extension = extension;
    this.mediaType = mediaType;
    this.defaultLevel = defaultLevel;
  }

  /**
   * The format of an archive named {@code archiveName} (the name its backup recorded, which the writer
   * made from {@link #extension}), known by its compression's suffix ({@code .zst}, {@code .gz}: names of
   * archives written before the {@code .tar.} infix end so too). A name of no known format is refused
   * rather than read as one.
   */
  public static ArchiveFormat ofName(String archiveName) {
    return byName(archiveName).orElseThrow(() ->
        new IllegalArgumentException("archive " + archiveName + " is in no known format (.tar.zst, .tar.gz)"));
  }

  /** {@link #ofName}, or empty for a name of no known format. */
  public static Optional<ArchiveFormat> byName(String archiveName) {
    if (archiveName != null) {
      for (ArchiveFormat format : values()) {
        if (archiveName.endsWith(format.extension.substring(format.extension.lastIndexOf('.')))) {
          return Optional.of(format);
        }
      }
    }
    return Optional.empty();
  }

  /** What HTTP calls it: {@code application/zstd} or {@code application/gzip}. */
  public String mediaType() {
    return mediaType;
  }

  /** {@code .tar.zst} or {@code .tar.gz}. */
  public String extension() {
    return extension;
  }

  public int defaultLevel() {
    return defaultLevel;
  }

  /** A stream compressing into {@code out}; closing it ends the frame (or member) and closes {@code out}. */
  public abstract OutputStream compressing(OutputStream out, int level, int threads) throws IOException;

  /** {@code data} as one complete frame (or member) of its own. */
  public abstract byte[] frame(byte[] data, int level) throws IOException;

  /**
   * {@code data} as one frame (member) stored uncompressed: its length depends only on the data's, which
   * lets a writer keep room for a header whose content it learns last.
   */
  public abstract byte[] storedFrame(byte[] data) throws IOException;

  /** What {@code in} holds, decompressed: every frame (or member) in turn, as one stream. */
  public abstract InputStream decompressing(InputStream in) throws IOException;
}
