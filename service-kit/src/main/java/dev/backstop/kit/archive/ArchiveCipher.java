package dev.backstop.kit.archive;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.streamingaead.PredefinedStreamingAeadParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import com.google.crypto.tink.subtle.AesGcmJce;
import com.google.crypto.tink.subtle.Hkdf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Archives encrypted at rest with Tink's streaming AEAD (AES-256-GCM-HKDF, 1 MiB segments): seekable,
 * so a download can start at any byte (HTTP ranges) without decrypting what comes before.
 *
 * <p>Envelope encryption: each addon has its own data key, stored beside its archives
 * ({@code <addon>/data-key.json}) wrapped by a key-encryption key derived from the configured master
 * secret ({@code backstop.secrets.key}); changing the master means re-wrapping the data keys, not
 * re-encrypting archives. The archive key is bound as associated data, so an archive copied under
 * another name or addon does not decrypt. An encrypted archive's key ends in {@value #SUFFIX}; what
 * customers download, and what its size and SHA-256 describe, is the plaintext {@code .tar.gz}.
 */
public final class ArchiveCipher {

  /** Ends the store key of an encrypted archive. */
  public static final String SUFFIX = ".tink";

  private static final String DATA_KEY = "data-key.json";
  /** The plaintext segment size of AES256_GCM_HKDF_1MB: reads of whole segments decrypt each once. */
  private static final int SEGMENT = 1 << 20;

  private final ArchiveStore store;
  private final Aead keyEncryption;
  private final Map<String, StreamingAead> dataKeys = new ConcurrentHashMap<>();

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
      return dataKey(addonId, true).newEncryptingStream(ciphertext, aad(archiveKey));
    } catch (GeneralSecurityException e) {
      ciphertext.close();
      throw new IOException("could not encrypt " + archiveKey + ": " + e.getMessage(), e);
    }
  }

  /** The plaintext of a stored encrypted archive from byte {@code offset} on. */
  public InputStream open(String addonId, String archiveKey, long offset) throws IOException {
    StreamingAead aead;
    try {
      aead = dataKey(addonId, false);
    } catch (GeneralSecurityException e) {
      throw new IOException("the data key of addon " + addonId + " cannot be read: " + e.getMessage(), e);
    }
    try {
      var channel = store.openChannel(archiveKey);
      if (channel.isPresent()) {
        SeekableByteChannel plaintext = aead.newSeekableDecryptingChannel(channel.get(), aad(archiveKey));
        plaintext.position(offset);
        return new ReadAhead(sequential(plaintext), SEGMENT, 4);
      }
      InputStream plaintext = aead.newDecryptingStream(store.open(archiveKey, 0), aad(archiveKey));
      plaintext.skipNBytes(offset);
      return new ReadAhead(plaintext, SEGMENT, 4);
    } catch (GeneralSecurityException e) {
      throw new IOException("could not decrypt " + archiveKey + ": " + e.getMessage(), e);
    }
  }

  private StreamingAead dataKey(String addonId, boolean createIfMissing) throws IOException, GeneralSecurityException {
    StreamingAead known = dataKeys.get(addonId);
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
    StreamingAead aead = TinkJsonProtoKeysetFormat.parseEncryptedKeyset(wrapped, keyEncryption, addonAad)
        .getPrimitive(RegistryConfiguration.get(), StreamingAead.class);
    dataKeys.put(addonId, aead);
    return aead;
  }

  /**
   * The channel as a plain stream: the JDK's stream over a seekable channel asks its size up front
   * (readAllBytes, skip), which Tink's decrypting channel knows only after its first read.
   */
  private static InputStream sequential(SeekableByteChannel channel) {
    return Channels.newInputStream(new ReadableByteChannel() {
      @Override
      public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
      }

      @Override
      public boolean isOpen() {
        return channel.isOpen();
      }

      @Override
      public void close() throws IOException {
        channel.close();
      }
    });
  }

  private static byte[] aad(String archiveKey) {
    return archiveKey.getBytes(StandardCharsets.UTF_8);
  }
}
