package dev.backstop.schemas.secret;

import dev.backstop.schemas.events.SealedSecret;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals database passwords before they travel in an event, and opens them where they are used
 * (the dump worker). AES-256-GCM with a random 96-bit nonce; the addon id is authenticated as
 * associated data, so a sealed password cannot be replayed onto another addon.
 */
public final class SecretSealer {

  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;
  private final String keyId;

  public SecretSealer(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("the secrets key must be 32 bytes (base64 of 32 random bytes)");
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
    this.keyId = keyIdOf(key);
  }

  /** From the base64 form used in configuration ({@code BACKSTOP_SECRETS_KEY}). */
  public static SecretSealer fromBase64(String base64Key) {
    if (base64Key == null || base64Key.isBlank()) {
      throw new IllegalArgumentException("no secrets key configured (BACKSTOP_SECRETS_KEY)");
    }
    return new SecretSealer(Base64.getDecoder().decode(base64Key.trim()));
  }

  /** A fresh random key, base64, for first start of the embedded mode and for tests. */
  public static String newBase64Key() {
    byte[] k = new byte[32];
    RANDOM.nextBytes(k);
    return Base64.getEncoder().encodeToString(k);
  }

  public SealedSecret seal(String addonId, String secret) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = cipher(Cipher.ENCRYPT_MODE, nonce, addonId);
      byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
      ByteBuffer out = ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).flip();
      return new SealedSecret(keyId, out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot seal a secret", e);
    }
  }

  public String open(String addonId, SealedSecret sealed) {
    if (!keyId.equals(sealed.getKeyId())) {
      throw new IllegalStateException(
          "secret of addon " + addonId + " was sealed with key " + sealed.getKeyId() + ", this service has " + keyId);
    }
    ByteBuffer buffer = sealed.getCiphertext().duplicate();
    byte[] all = new byte[buffer.remaining()];
    buffer.get(all);
    try {
      Cipher cipher = cipher(Cipher.DECRYPT_MODE, Arrays.copyOf(all, NONCE_BYTES), addonId);
      byte[] plain = cipher.doFinal(all, NONCE_BYTES, all.length - NONCE_BYTES);
      return new String(plain, StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("secret of addon " + addonId + " does not open with this key", e);
    }
  }

  public String keyId() {
    return keyId;
  }

  private Cipher cipher(int mode, byte[] nonce, String addonId) throws GeneralSecurityException {
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(mode, key, new GCMParameterSpec(TAG_BITS, nonce));
    cipher.updateAAD(addonId.getBytes(StandardCharsets.UTF_8));
    return cipher;
  }

  private static String keyIdOf(byte[] key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
