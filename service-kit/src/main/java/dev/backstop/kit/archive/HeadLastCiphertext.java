package dev.backstop.kit.archive;

import com.google.crypto.tink.subtle.Hkdf;
import com.google.crypto.tink.subtle.Random;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A {@link HeadLastFile} encrypted in Tink's AES-GCM-HKDF streaming format, byte for byte what Tink's
 * encrypting stream writes, so that Tink's decrypting streams and channels read it: a header (its
 * length, a salt, a nonce prefix), then segments of the key's ciphertext segment size, each sealed
 * by AES-GCM under a key derived by HKDF from the data key, the salt and the associated data, with
 * the nonce {@code prefix ‖ segment number ‖ last-segment flag}. The first segment is shorter by
 * the header and holds the head.
 *
 * <p>Tink's own encrypter seals segments strictly in order, so the head would have to be known
 * first. This one seals segments 1 … n as the body fills them and keeps segment 0's plaintext (one
 * segment, about 1 MiB) until {@link #finish}, which writes the head into it and seals it then: each
 * segment is still sealed exactly once under its own nonce. {@link #plaintext} reads the file back
 * through Tink's decryption, which is how the archive's size and SHA-256 are measured: a file this
 * writer got wrong fails there, before it is stored.
 */
final class HeadLastCiphertext implements HeadLastFile {

  private static final int TAG = 16;
  private static final int NONCE_PREFIX = 7;
  private static final long MAX_SEGMENTS = 0xFFFF_FFFFL;

  /** What this writer needs of an AES-GCM-HKDF streaming key. */
  record SegmentKey(byte[] ikm, String hkdfAlgorithm, int derivedKeySize, int ciphertextSegment) {}

  /** Opens the plaintext of the finished file, decrypted by Tink. */
  @FunctionalInterface
  interface ReadBack {
    InputStream open(Path file) throws IOException;
  }

  private final Path path;
  private final int headLength;
  private final int ciphertextSegment;
  private final ReadBack readBack;
  private final HeadLastFile.Written file;
  private final byte[] header;
  private final byte[] noncePrefix;
  private final SecretKeySpec key;
  private final Cipher cipher;
  /** Segment 0's plaintext, the head's room first; sealed at the end. */
  private final ByteBuffer first;
  /** The plaintext of segment {@link #segment} once past the first. */
  private final ByteBuffer current;
  private final ByteBuffer sealed;
  private final OutputStream body = new OutputStream() {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      append(b, off, len);
    }
  };
  private long segment;

  HeadLastCiphertext(SegmentKey segmentKey, byte[] associatedData, Path path, int headLength, ReadBack readBack)
      throws IOException {
    int headerLength = 1 + segmentKey.derivedKeySize() + NONCE_PREFIX;
    int plaintextSegment = segmentKey.ciphertextSegment() - TAG;
    if (headLength > plaintextSegment - headerLength) {
      throw new IllegalArgumentException("a head of " + headLength + " bytes does not fit in the first segment");
    }
    this.path = path;
    this.headLength = headLength;
    this.ciphertextSegment = segmentKey.ciphertextSegment();
    this.readBack = readBack;
    byte[] salt = Random.randBytes(segmentKey.derivedKeySize());
    this.noncePrefix = Random.randBytes(NONCE_PREFIX);
    this.header = ByteBuffer.allocate(headerLength).put((byte) headerLength).put(salt).put(noncePrefix).array();
    try {
      this.key = new SecretKeySpec(Hkdf.computeHkdf(segmentKey.hkdfAlgorithm(), segmentKey.ikm(), salt, associatedData,
          segmentKey.derivedKeySize()), "AES");
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IOException("could not start encrypting " + path.getFileName() + ": " + e.getMessage(), e);
    }
    this.first = ByteBuffer.allocate(plaintextSegment - headerLength).position(headLength);
    this.current = ByteBuffer.allocate(plaintextSegment);
    this.sealed = ByteBuffer.allocate(segmentKey.ciphertextSegment());
    this.file = new HeadLastFile.Written(path);
  }

  @Override
  public OutputStream body() {
    return body;
  }

  private void append(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      ByteBuffer filling = segment == 0 ? first : current;
      if (!filling.hasRemaining()) {
        // more is coming, so the full segment is not the last; segment 0 waits for the head
        if (segment > 0) {
          seal(current, segment, false);
          current.clear();
        }
        if (++segment > MAX_SEGMENTS) {
          throw new IOException("the archive is too large for its encryption's segment counter");
        }
        continue;
      }
      int n = Math.min(len, filling.remaining());
      filling.put(b, off, n);
      off += n;
      len -= n;
    }
  }

  @Override
  public void finish(byte[] head) throws IOException {
    if (head.length != headLength) {
      throw new IllegalArgumentException("a head of " + head.length + " bytes where " + headLength + " were kept");
    }
    first.put(0, head);
    if (segment > 0) {
      seal(current, segment, true);
    }
    seal(first, 0, segment == 0);
    file.write(ByteBuffer.wrap(header), 0);
    file.finished();
  }

  /** Seals a segment's plaintext (from 0 to its position) and writes it where the format puts it. */
  private void seal(ByteBuffer plaintext, long number, boolean last) throws IOException {
    plaintext.flip();
    sealed.clear();
    try {
      byte[] nonce = ByteBuffer.allocate(12).put(noncePrefix).putInt((int) number).put((byte) (last ? 1 : 0)).array();
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(8 * TAG, nonce));
      cipher.doFinal(plaintext, sealed);
    } catch (GeneralSecurityException e) {
      throw new IOException("could not encrypt " + path.getFileName() + ": " + e.getMessage(), e);
    }
    // segment 0 and the header in front of it fill exactly one ciphertext segment
    file.write(sealed.flip(), number == 0 ? header.length : number * ciphertextSegment);
  }

  @Override
  public InputStream plaintext() throws IOException {
    return readBack.open(path);
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}
