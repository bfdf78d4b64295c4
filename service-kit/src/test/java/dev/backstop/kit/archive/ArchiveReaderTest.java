package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class ArchiveReaderTest {

  @TempDir
  Path dir;

  private static final byte[] DUMP = "CREATE TABLE orders (id int);\n".repeat(500).getBytes(StandardCharsets.UTF_8);

  @ParameterizedTest
  @EnumSource(ArchiveFormat.class)
  void an_encrypted_archive_is_decrypted_and_unpacked_in_the_format_its_name_records(ArchiveFormat format) throws Exception {
    ArchiveStore store = new FilesystemArchiveStore(Files.createDirectories(dir.resolve("store")));
    ArchiveCipher cipher = new ArchiveCipher(store, new byte[32]);
    byte[] plaintext = archive(format);
    String name = "20261201000000_app" + format.extension();
    String key = "addon-1/b1/" + name + ArchiveCipher.SUFFIX;
    Path encrypted = dir.resolve("encrypted");
    try (OutputStream out = cipher.encrypting("addon-1", key, Files.newOutputStream(encrypted))) {
      out.write(plaintext);
    }
    store.put(key, encrypted);
    ArchiveReader reader = new ArchiveReader(store, cipher);

    assertThat(ArchiveReader.isEncrypted(key)).isTrue();
    try (InputStream in = reader.plaintext("addon-1", key, 10, 20)) {
      assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(plaintext, 10, 30));
    }
    try (ArchiveReader.Unpacked unpacked = reader.unpack("addon-1", key, name)) {
      assertThat(unpacked.dump().readAllBytes()).isEqualTo(DUMP);
      assertThat(unpacked.check(plaintext.length, sha256(plaintext))).isNull();
    }
  }

  @Test
  void a_plain_archive_is_read_as_stored_and_a_mismatch_is_named() throws Exception {
    ArchiveStore store = new FilesystemArchiveStore(Files.createDirectories(dir.resolve("store")));
    byte[] plaintext = archive(ArchiveFormat.GZIP);
    String name = "20261201000000_app.tar.gz";
    Path file = Files.write(dir.resolve("plain"), plaintext);
    store.put("addon-1/b2/" + name, file);
    ArchiveReader reader = new ArchiveReader(store, null);

    try (ArchiveReader.Unpacked unpacked = reader.unpack("addon-1", "addon-1/b2/" + name, name)) {
      assertThat(unpacked.dump().readAllBytes()).isEqualTo(DUMP);
      assertThat(unpacked.check(plaintext.length + 1, sha256(plaintext))).contains("not the " + (plaintext.length + 1));
    }
  }

  @Test
  void an_encrypted_archive_without_a_configured_key_and_a_pruned_one_are_refused() throws Exception {
    ArchiveStore store = new FilesystemArchiveStore(Files.createDirectories(dir.resolve("store")));
    ArchiveReader reader = new ArchiveReader(store, null);
    assertThatThrownBy(() -> reader.plaintext("a", "a/b/x.tar.zst.tink")).hasMessageContaining("backstop.secrets.key");
    assertThatThrownBy(() -> reader.unpack("a", "a/b/x.tar.zst", "x.tar.zst")).isInstanceOf(ArchiveStore.NoSuchArchiveException.class);
  }

  @Test
  void a_name_of_no_known_format_is_refused_rather_than_guessed() {
    assertThat(ArchiveFormat.ofName("x.tar.zst")).isEqualTo(ArchiveFormat.ZSTD);
    assertThat(ArchiveFormat.ofName("x.tar.gz")).isEqualTo(ArchiveFormat.GZIP);
    assertThat(ArchiveFormat.ofName("legacy.sql.gz")).as("named before the .tar. infix").isEqualTo(ArchiveFormat.GZIP);
    assertThatThrownBy(() -> ArchiveFormat.ofName("x.tar.bz2")).isInstanceOf(IllegalArgumentException.class);
    assertThat(ArchiveFormat.byName("x.tar")).isEmpty();
  }

  /** A tar holding DUMP, compressed in two frames (body, then a tiny one) as the worker writes it. */
  private static byte[] archive(ArchiveFormat format) throws IOException {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
      TarArchiveEntry entry = new TarArchiveEntry("app.pgsql");
      entry.setSize(DUMP.length);
      out.putArchiveEntry(entry);
      out.write(DUMP);
      out.closeArchiveEntry();
    }
    byte[] bytes = tar.toByteArray();
    ByteArrayOutputStream compressed = new ByteArrayOutputStream();
    try (OutputStream first = format.compressing(new NonClosing(compressed), format.defaultLevel(), 1)) {
      first.write(bytes, 0, bytes.length - 512);
    }
    compressed.write(format.frame(java.util.Arrays.copyOfRange(bytes, bytes.length - 512, bytes.length), format.defaultLevel()));
    return compressed.toByteArray();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static final class NonClosing extends java.io.FilterOutputStream {
    NonClosing(OutputStream out) {
      super(out);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
