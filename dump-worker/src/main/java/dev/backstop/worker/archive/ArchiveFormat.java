package dev.backstop.worker.archive;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.GZIPOutputStream;

/**
 * How the tar customers download is compressed. Both formats read concatenated frames (zstd) or
 * members (gzip) as one stream, which lets {@link StreamingArchive} write the tar header last.
 */
public enum ArchiveFormat {

  /**
   * {@code .tar.zst}: the default. At level 1, zstd keeps up with {@code pg_dump -Z0} and writes
   * smaller archives than {@code pg_dump -Fc}'s own gzip, which is the slowest part of a plain
   * {@code pg_dump -Fc} (docs/benchmarks.md). Stock tools read it: {@code tar --zstd -xf}.
   */
  ZSTD(".tar.zst", 1) {
    @Override
    OutputStream compressing(OutputStream out, int level, int threads) throws IOException {
      ZstdOutputStreamNoFinalizer zstd = new ZstdOutputStreamNoFinalizer(out, level);
      zstd.setChecksum(true);
      if (threads > 1) {
        zstd.setWorkers(threads);
      }
      return zstd;
    }

    @Override
    byte[] frame(byte[] data, int level) {
      return Zstd.compress(data, level);
    }
  },

  /** {@code .tar.gz}, the reference product's format: one thread, several times slower on large dumps. */
  GZIP(".tar.gz", 6) {
    @Override
    OutputStream compressing(OutputStream out, int level, int threads) throws IOException {
      return new GZIPOutputStream(out, 1 << 16) {
        {
          def.setLevel(level);
        }
      };
    }

    @Override
    byte[] frame(byte[] data, int level) throws IOException {
      ByteArrayOutputStream member = new ByteArrayOutputStream();
      try (OutputStream gzip = compressing(member, level, 1)) {
        gzip.write(data);
      }
      return member.toByteArray();
    }
  };

  private final String extension;
  private final int defaultLevel;

  ArchiveFormat(String extension, int defaultLevel) {
    this.extension = extension;
    this.defaultLevel = defaultLevel;
  }

  /** {@code .tar.zst} or {@code .tar.gz}. */
  public String extension() {
    return extension;
  }

  public int defaultLevel() {
    return defaultLevel;
  }

  /** A stream compressing into {@code out}; closing it ends the frame (or member) and closes {@code out}. */
  abstract OutputStream compressing(OutputStream out, int level, int threads) throws IOException;

  /** {@code data} as one complete frame (or member) of its own. */
  abstract byte[] frame(byte[] data, int level) throws IOException;
}
