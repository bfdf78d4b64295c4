package dev.backstop.kit.archive;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The one way to read a stored backup archive back: "open the plaintext archive of this backup".
 * Given the archive's key and name as its {@code BackupCompleted} recorded them, it decrypts what was
 * stored encrypted ({@link ArchiveCipher}) and decompresses in the {@link ArchiveFormat} the name
 * records; callers (the gateway's downloads, the worker's restore tests, PITR restores) never decide
 * either themselves.
 */
public final class ArchiveReader {

  private final ArchiveStore store;
  private final ArchiveCipher cipher;

  /** @param cipher null where no master secret is configured: encrypted archives then cannot be opened */
  public ArchiveReader(ArchiveStore store, ArchiveCipher cipher) {
    this.store = store;
    this.cipher = cipher;
  }

  /** Whether the archive stored under {@code archiveKey} is encrypted (its plaintext is what customers download). */
  public static boolean isEncrypted(String archiveKey) {
    return ArchiveCipher.isEncrypted(archiveKey);
  }

  /**
   * At most {@code length} bytes of the plaintext archive (what customers download, what the backup's
   * size and SHA-256 describe) from byte {@code offset}; {@link ArchiveStore.NoSuchArchiveException} if
   * it is no longer stored.
   */
  public InputStream plaintext(String addonId, String archiveKey, long offset, long length) throws IOException {
    if (isEncrypted(archiveKey)) {
      if (cipher == null) {
        throw new IOException(archiveKey + " is encrypted and no archive key is configured (backstop.secrets.key)");
      }
      return cipher.open(addonId, archiveKey, offset, length);
    }
    InputStream in = store.open(archiveKey, offset);
    return length >= Long.MAX_VALUE - offset ? in : new BoundedInputStream(in, length);
  }

  /** The whole plaintext archive. */
  public InputStream plaintext(String addonId, String archiveKey) throws IOException {
    return plaintext(addonId, archiveKey, 0, Long.MAX_VALUE);
  }

  /**
   * The archive unpacked as a customer would unpack it (decrypted, decompressed, untarred), its
   * plaintext bytes counted and hashed on the way so that {@link Unpacked#check} can compare them with
   * what the backup recorded. Opening fails at once with {@link ArchiveStore.NoSuchArchiveException}
   * when the archive is gone; reading errors come from {@link Unpacked#dump} on.
   */
  public Unpacked unpack(String addonId, String archiveKey, String archiveName) throws IOException {
    ArchiveFormat format = ArchiveFormat.ofName(archiveName);
    return new Unpacked(plaintext(addonId, archiveKey), format);
  }

  /** An archive being unpacked: its dump file, then the check of the bytes it was made of. */
  public static final class Unpacked implements AutoCloseable {

    private final MessageDigest sha256;
    private final DigestInputStream raw;
    private final ArchiveFormat format;
    private TarArchiveInputStream tar;
    private long size;

    private Unpacked(InputStream plaintext, ArchiveFormat format) {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      this.format = format;
      raw = new DigestInputStream(new BufferedInputStream(plaintext, 1 << 20), sha256) {
        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          int n = super.read(b, off, len);
          size += Math.max(n, 0);
          return n;
        }

        @Override
        public int read() throws IOException {
          int b = super.read();
          size += b < 0 ? 0 : 1;
          return b;
        }
      };
    }

    /**
     * The archive's members in turn, for readers that need each of them (a PITR base backup's data
     * directory); a dump's reader takes {@link #dump} instead. Call one of the two, once.
     */
    public TarArchiveInputStream members() throws IOException {
      tar = new TarArchiveInputStream(format.decompressing(raw));
      return tar;
    }

    /** The dump file's bytes (the archive's first regular file), or null if the archive holds none. */
    public InputStream dump() throws IOException {
      TarArchiveEntry entry = members().getNextEntry();
      while (entry != null && !entry.isFile()) {
        entry = tar.getNextEntry();
      }
      return entry == null ? null : tar;
    }

    /**
     * Reads what is left unread and compares the plaintext archive with what its backup recorded;
     * returns why it is not the archive announced, or null when it is.
     */
    public String check(long expectedSize, String expectedSha256) throws IOException {
      raw.transferTo(OutputStream.nullOutputStream());
      String actual = HexFormat.of().formatHex(sha256.digest());
      if (size != expectedSize) {
        return "the archive read back is " + size + " bytes, not the " + expectedSize + " its backup recorded";
      }
      if (!actual.equals(expectedSha256)) {
        return "the archive read back does not match its SHA-256 (" + actual + ", recorded " + expectedSha256 + ")";
      }
      return null;
    }

    @Override
    public void close() throws IOException {
      if (tar != null) {
        tar.close();
      } else {
        raw.close();
      }
    }
  }
}
