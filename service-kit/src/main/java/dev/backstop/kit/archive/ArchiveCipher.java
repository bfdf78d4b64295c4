package dev.backstop.kit.archive;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingKey;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.streamingaead.PredefinedStreamingAeadParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import com.google.crypto.tink.subtle.AesGcmJce;
import com.google.crypto.tink.subtle.Hkdf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Archives encrypted at rest with Tink's streaming AEAD (AES-256-GCM-HKDF, 1 MiB segments): seekable,
 * so a download can start at any byte (HTTP ranges) without decrypting what comes before.
 *
 * <p>Envelope encryption: each addon has its own data key, stored beside its archives
 * ({@code <addon>/data-key.json}) wrapped by a key-encryption key derived from the configured master
 * secret ({@code backstop.secrets.key}); changing the master means re-wrapping the data keys, not
 * re-encrypting archives. The archive key is bound as associated data, so an archive copied under
 * another name or addon does not decrypt. An encrypted archive's key ends in {@value #SUFFIX}; what
 * customers download, and what its size and SHA-256 describe, is the plaintext archive ({@code .tar.zst}).
 */
public final class ArchiveCipher {

  /** Ends the store key of an encrypted archive. */
  public static final String SUFFIX = ".tink";

  private static final String DATA_KEY = "data-key.json";
  /** The chunk size of sequential reads: about one segment of AES256_GCM_HKDF_1MB. */
  private static final int SEGMENT = 1 << 20;
  /** AES-GCM tag after each segment, and the header's salt prefix (a byte) and nonce prefix (7 bytes). */
  private static final int TAG = 16;
  private static final int HEADER_EXTRA = 1 + 7;
  /** Segments decrypted at once for one download, and how many may wait decrypted (memory: ~1 MiB each). */
  private static final int DECRYPT_THREADS = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));
  private static final int DECRYPTED_AHEAD = 4;

  private final ArchiveStore store;
  private final Aead keyEncryption;
  private final Map<String, DataKey> dataKeys = new ConcurrentHashMap<>();

  /**
   * An addon's data key, where its segments fall in the plaintext, and its key material for writing
   * archives head last (null for a key of another kind than AES-GCM-HKDF).
   */
  private record DataKey(StreamingAead aead, ParallelDecryption.Geometry geometry, HeadLastCiphertext.SegmentKey segmentKey) {}

  public ArchiveCipher(ArchiveStore store, byte[] masterSecret) {
    try {
      StreamingAeadConfig.register();
      // a key of its own for wrapping data keys, not the secret itself, which also seals passwords
      byte[] kek = Hkdf.computeHkdf("HMACSHA256", masterSecret, new byte[0],
          "backstop archive key-encryption key".getBytes(StandardCharsets.UTF_8), 32);
      this.keyEncryption = new AesGcmJce(kek);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("archive encryption cannot start: " + e.getMessage(), e);
    }
    this.store = store;
    CryptoWarmup.startOnce();
  }

  public static boolean isEncrypted(String archiveKey) {
    return archiveKey.endsWith(SUFFIX);
  }

  /** Encrypts {@code plaintext} into {@code ciphertext} for storing under {@code archiveKey} (which ends in {@value #SUFFIX}). */
  public void encrypt(String addonId, String archiveKey, Path plaintext, Path ciphertext) throws IOException {
    try (OutputStream out = encrypting(addonId, archiveKey, Files.newOutputStream(ciphertext))) {
      Files.copy(plaintext, out);
    }
  }

  /**
   * A stream that encrypts what is written to it into {@code ciphertext}, for storing under
   * {@code archiveKey}; closing it writes the last segment and closes {@code ciphertext}.
   */
  public OutputStream encrypting(String addonId, String archiveKey, OutputStream ciphertext) throws IOException {
    try {
      return dataKey(addonId, true).aead().newEncryptingStream(ciphertext, aad(archiveKey));
    } catch (GeneralSecurityException e) {
      ciphertext.close();
      throw new IOException("could not encrypt " + archiveKey + ": " + e.getMessage(), e);
    }
  }

  /**
   * A file to be stored under {@code archiveKey}, encrypted as {@link #encrypting} does, whose first
   * {@code headLength} bytes of plaintext are given last ({@link HeadLastFile}).
   */
  public HeadLastFile headLast(String addonId, String archiveKey, Path file, int headLength) throws IOException {
    DataKey key = dataKey(addonId, true, "could not encrypt " + archiveKey);
    if (key.segmentKey() == null) {
      throw new IOException("could not encrypt " + archiveKey + ": the data key of addon " + addonId
          + " is not an AES-GCM-HKDF streaming key");
    }
    byte[] aad = aad(archiveKey);
    return new HeadLastCiphertext(key.segmentKey(), aad, file, headLength,
        written -> decrypted(key, aad, () -> FileChannel.open(written, StandardOpenOption.READ), 0, Long.MAX_VALUE));
  }

  /** The plaintext of a stored encrypted archive from byte {@code offset} on. */
  public InputStream open(String addonId, String archiveKey, long offset) throws IOException {
    return open(addonId, archiveKey, offset, Long.MAX_VALUE - offset);
  }

  /**
   * At most {@code length} bytes of the plaintext of a stored encrypted archive from byte {@code offset}.
   * From a store that can seek, segments are decrypted on several threads at once (a download then
   * runs at the speed of more than one core); otherwise the stream is decrypted ahead on one.
   */
  public InputStream open(String addonId, String archiveKey, long offset, long length) throws IOException {
    DataKey key = dataKey(addonId, false, "the data key of addon " + addonId + " cannot be read");
    byte[] aad = aad(archiveKey);
    var first = new AtomicReference<>(store.openChannel(archiveKey).orElse(null));
    if (first.get() != null) {
      long end = length > Long.MAX_VALUE - offset ? Long.MAX_VALUE : offset + length;
      return decrypted(key, aad, () -> {
        SeekableByteChannel opened = first.getAndSet(null);
        return opened != null ? opened
            : store.openChannel(archiveKey).orElseThrow(() -> new IOException(archiveKey + " cannot be read at random"));
      }, offset, end);
    }
    try {
      InputStream plaintext = key.aead().newDecryptingStream(store.open(archiveKey, 0), aad);
      plaintext.skipNBytes(offset);
      return new ReadAhead(new BoundedInputStream(plaintext, length), SEGMENT, DECRYPTED_AHEAD);
    } catch (GeneralSecurityException e) {
      throw new IOException("could not decrypt " + archiveKey + ": " + e.getMessage(), e);
    }
  }

  /** Plaintext bytes {@code [offset, end)} of the ciphertext {@code ciphertexts} open, decrypted on several threads. */
  private static InputStream decrypted(DataKey key, byte[] aad, ParallelDecryption.Channels ciphertexts, long offset, long end) {
    ParallelDecryption.Channels channels = () -> {
      SeekableByteChannel ciphertext = ciphertexts.open();
      try {
        return key.aead().newSeekableDecryptingChannel(ciphertext, aad);
      } catch (GeneralSecurityException e) {
        ciphertext.close();
        throw new IOException("could not decrypt " + new String(aad, StandardCharsets.UTF_8) + ": " + e.getMessage(), e);
      }
    };
    return new ParallelDecryption(channels, key.geometry(), offset, end, 1, DECRYPT_THREADS, DECRYPTED_AHEAD);
  }

  /** The addon's data key, or an {@link IOException} saying {@code failure} and why. */
  private DataKey dataKey(String addonId, boolean createIfMissing, String failure) throws IOException {
    try {
      return dataKey(addonId, createIfMissing);
    } catch (GeneralSecurityException e) {
      throw new IOException(failure + ": " + e.getMessage(), e);
    }
  }

  private DataKey dataKey(String addonId, boolean createIfMissing) throws IOException, GeneralSecurityException {
    DataKey known = dataKeys.get(addonId);
    if (known != null) {
      return known;
    }
    String key = addonId + "/" + DATA_KEY;
    byte[] addonAad = addonId.getBytes(StandardCharsets.UTF_8);
    if (!store.exists(key)) {
      if (!createIfMissing) {
        throw new GeneralSecurityException("addon " + addonId + " has no data key");
      }
      KeysetHandle fresh = KeysetHandle.generateNew(PredefinedStreamingAeadParameters.AES256_GCM_HKDF_1MB);
      Path file = Files.createTempFile("data-key", ".json");
      try {
        Files.writeString(file, TinkJsonProtoKeysetFormat.serializeEncryptedKeyset(fresh, keyEncryption, addonAad));
        // two workers may create it at once: the first stored wins, and both use that one
        store.putIfAbsent(key, file);
      } finally {
        Files.deleteIfExists(file);
      }
    }
    String wrapped;
    try (InputStream in = store.open(key, 0)) {
      wrapped = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    KeysetHandle keyset = TinkJsonProtoKeysetFormat.parseEncryptedKeyset(wrapped, keyEncryption, addonAad);
    DataKey dataKey = new DataKey(keyset.getPrimitive(RegistryConfiguration.get(), StreamingAead.class), geometry(keyset),
        segmentKey(keyset));
    dataKeys.put(addonId, dataKey);
    return dataKey;
  }

  /**
   * Segment boundaries of Tink's AES-GCM-HKDF streaming format: plaintext segments of the ciphertext
   * segment size less the tag, the first one shorter by the header (a length byte, the salt, which is
   * as long as the key, and the nonce prefix). Only reads' efficiency depends on it, not what they return.
   */
  static ParallelDecryption.Geometry geometry(KeysetHandle keyset) {
    if (keyset.getPrimary().getKey().getParameters() instanceof AesGcmHkdfStreamingParameters parameters) {
      return new ParallelDecryption.Geometry(parameters.getCiphertextSegmentSizeBytes() - TAG,
          parameters.getKeySizeBytes() + HEADER_EXTRA);
    }
    return new ParallelDecryption.Geometry(SEGMENT, 0);
  }

  /** The primary key's material and parameters, for {@link HeadLastCiphertext}; null for a key of another kind. */
  static HeadLastCiphertext.SegmentKey segmentKey(KeysetHandle keyset) {
    if (!(keyset.getPrimary().getKey() instanceof AesGcmHkdfStreamingKey key)) {
      return null;
    }
    AesGcmHkdfStreamingParameters parameters = key.getParameters();
    AesGcmHkdfStreamingParameters.HashType hash = parameters.getHkdfHashType();
    String hkdf = hash.equals(AesGcmHkdfStreamingParameters.HashType.SHA1) ? "HmacSha1"
        : hash.equals(AesGcmHkdfStreamingParameters.HashType.SHA256) ? "HmacSha256"
        : hash.equals(AesGcmHkdfStreamingParameters.HashType.SHA512) ? "HmacSha512" : null;
    if (hkdf == null) {
      return null;
    }
    return new HeadLastCiphertext.SegmentKey(key.getInitialKeyMaterial().toByteArray(InsecureSecretKeyAccess.get()), hkdf,
        parameters.getDerivedAesGcmKeySizeBytes(), parameters.getCiphertextSegmentSizeBytes());
  }

  private static byte[] aad(String archiveKey) {
    return archiveKey.getBytes(StandardCharsets.UTF_8);
  }
}
