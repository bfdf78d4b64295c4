package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.PredefinedStreamingAeadParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Archives written head last, encrypted: whatever the body's length against the segments, Tink's own
 * decrypting stream and seekable channel read back the head then the body, and refuse a changed byte
 * or another archive's name. 4 KiB segments (Tink's AES128_GCM_HKDF_4KB) put many boundaries in a
 * small file; archives use 1 MiB ones, read back by {@link ArchiveCipher} in the last test.
 */
class HeadLastFileTest {

  private static final byte[] AAD = "addon-1/backup-1/20231207000608_db.tar.zst.tink".getBytes(StandardCharsets.UTF_8);
  /** Plaintext of a 4 KiB segment: 4096 less the tag; the first is shorter by the header too (length, salt, nonce prefix). */
  private static final int SEGMENT = 4096 - 16;
  private static final int HEADER = 1 + 16 + 7;
  private static final int FIRST = SEGMENT - HEADER;

  @TempDir Path dir;

  private static KeysetHandle keyset;
  private static StreamingAead tink;

  @BeforeAll
  static void keys() throws Exception {
    StreamingAeadConfig.register();
    keyset = KeysetHandle.generateNew(PredefinedStreamingAeadParameters.AES128_GCM_HKDF_4KB);
    tink = keyset.getPrimitive(RegistryConfiguration.get(), StreamingAead.class);
  }

  @ParameterizedTest(name = "a head of 20 bytes and a body of {0} bytes")
  @ValueSource(ints = {0, 1, FIRST - 20 - 1, FIRST - 20, FIRST - 20 + 1, FIRST - 20 + SEGMENT, FIRST - 20 + SEGMENT + 1,
      3 * SEGMENT + 1234, 40_000})
  void tink_decrypts_what_was_written_head_last_at_any_body_length_against_the_segments(int bodyLength) throws Exception {
    byte[] head = bytes(20, 1);
    byte[] body = bytes(bodyLength, 2);
    Path file = write(head, body, 7);

    byte[] expected = concat(head, body);
    try (InputStream in = tink.newDecryptingStream(Files.newInputStream(file), AAD)) {
      assertThat(in.readAllBytes()).isEqualTo(expected);
    }
    // and read at random, as downloads with a range do: the last bytes alone
    try (SeekableByteChannel channel = tink.newSeekableDecryptingChannel(FileChannel.open(file), AAD)) {
      int tail = Math.min(expected.length, 100);
      ByteBuffer last = ByteBuffer.allocate(tail);
      channel.position(expected.length - tail);
      while (last.hasRemaining() && channel.read(last) > 0) {
        // until the end
      }
      assertThat(last.array()).isEqualTo(Arrays.copyOfRange(expected, expected.length - tail, expected.length));
      assertThat(channel.size()).isEqualTo(expected.length);
    }
  }

  @Test
  void a_changed_byte_or_another_archives_name_does_not_decrypt() throws Exception {
    Path file = write(bytes(20, 1), bytes(3 * SEGMENT, 2), 1000);

    assertThatThrownBy(() -> {
      try (InputStream in = tink.newDecryptingStream(Files.newInputStream(file), "addon-1/other".getBytes(StandardCharsets.UTF_8))) {
        in.readAllBytes();
      }
    }).isInstanceOf(IOException.class);

    byte[] ciphertext = Files.readAllBytes(file);
    ciphertext[100] ^= 1; // in segment 0, the one sealed last
    Files.write(file, ciphertext);
    assertThatThrownBy(() -> {
      try (InputStream in = tink.newDecryptingStream(Files.newInputStream(file), AAD)) {
        in.readAllBytes();
      }
    }).isInstanceOf(IOException.class);
  }

  @Test
  void two_archives_of_the_same_bytes_share_no_salt_nonce_or_ciphertext() throws Exception {
    byte[] head = bytes(20, 1);
    byte[] body = bytes(2 * SEGMENT, 2);
    byte[] one = Files.readAllBytes(write(head, body, 500));
    Files.move(dir.resolve("archive"), dir.resolve("first"));
    byte[] two = Files.readAllBytes(write(head, body, 500));

    assertThat(Arrays.copyOfRange(one, 1, HEADER)).isNotEqualTo(Arrays.copyOfRange(two, 1, HEADER));
    assertThat(Arrays.copyOfRange(one, HEADER, 200)).isNotEqualTo(Arrays.copyOfRange(two, HEADER, 200));
    assertThat(Arrays.copyOfRange(one, 4096, 4200)).isNotEqualTo(Arrays.copyOfRange(two, 4096, 4200));
  }

  @Test
  void a_head_of_another_length_than_kept_is_refused_and_an_unfinished_file_is_deleted() throws Exception {
    Path file = dir.resolve("archive");
    try (HeadLastFile archive = new HeadLastCiphertext(ArchiveCipher.segmentKey(keyset), AAD, file, 20, f -> null)) {
      archive.body().write(bytes(10_000, 2));
      assertThatThrownBy(() -> archive.finish(new byte[19])).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(file).doesNotExist();
  }

  @Test
  void the_archive_cipher_reads_back_an_archive_written_head_last_and_stored() throws Exception {
    FilesystemArchiveStore store = new FilesystemArchiveStore(dir.resolve("store"));
    ArchiveCipher cipher = new ArchiveCipher(store, new byte[32]);
    String key = "addon-1/backup-1/20231207000608_db.tar.zst" + ArchiveCipher.SUFFIX;
    byte[] head = bytes(525, 1);
    byte[] body = bytes(3 * (1 << 20) + 777, 2);
    Path file = dir.resolve("archive");
    byte[] readBack;
    try (HeadLastFile archive = cipher.headLast("addon-1", key, file, head.length)) {
      writeInPieces(archive.body(), body, 65_536);
      archive.finish(head);
      try (InputStream in = archive.plaintext()) {
        readBack = in.readAllBytes();
      }
    }
    assertThat(readBack).isEqualTo(concat(head, body));

    store.putTaking(key, file);
    try (InputStream in = cipher.open("addon-1", key, head.length + 1_000_000L)) {
      assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOfRange(concat(head, body), head.length + 1_000_000, head.length + body.length));
    }
  }

  @Test
  void a_plain_file_holds_the_head_then_the_body() throws Exception {
    Path file = dir.resolve("plain");
    try (HeadLastFile archive = HeadLastFile.plain(file, 20)) {
      writeInPieces(archive.body(), bytes(3_000_000, 2), 4096);
      archive.finish(bytes(20, 1));
      try (InputStream in = archive.plaintext()) {
        assertThat(in.readAllBytes()).isEqualTo(concat(bytes(20, 1), bytes(3_000_000, 2)));
      }
    }
    assertThat(Files.readAllBytes(file)).isEqualTo(concat(bytes(20, 1), bytes(3_000_000, 2)));
  }

  private Path write(byte[] head, byte[] body, int piece) throws IOException {
    Path file = dir.resolve("archive");
    try (HeadLastFile archive = new HeadLastCiphertext(ArchiveCipher.segmentKey(keyset), AAD, file, head.length, written -> null)) {
      writeInPieces(archive.body(), body, piece);
      archive.finish(head);
    }
    return file;
  }

  private static void writeInPieces(OutputStream out, byte[] bytes, int piece) throws IOException {
    for (int off = 0; off < bytes.length; off += piece) {
      out.write(bytes, off, Math.min(piece, bytes.length - off));
    }
  }

  private static byte[] bytes(int length, long seed) {
    byte[] bytes = new byte[length];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
