package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What every {@link ArchiveStore} promises, run against each implementation by a subclass. Large-archive tests
 * use ~12 MiB: subclasses with a multipart threshold (S3) configure it below that.
 */
abstract class ArchiveStoreContractTest {

  static final int LARGE = 12 * 1024 * 1024 + 4321;

  @TempDir Path scratch;

  ArchiveStore store;

  /** A fresh, empty store for one test. */
  abstract ArchiveStore newStore() throws Exception;

  @BeforeEach
  void createStore() throws Exception {
    store = newStore();
  }

  @Test
  void putThenOpenWholeAndFromAnOffset() throws IOException {
    byte[] bytes = randomBytes(100_000, 1);
    store.put("addon-1/backup-1/archive.tar.gz", file("archive", bytes));

    assertThat(read(store.open("addon-1/backup-1/archive.tar.gz", 0))).isEqualTo(bytes);
    assertThat(read(store.open("addon-1/backup-1/archive.tar.gz", 1234)))
        .isEqualTo(Arrays.copyOfRange(bytes, 1234, bytes.length));
    assertThat(read(store.open("addon-1/backup-1/archive.tar.gz", bytes.length - 1)))
        .containsExactly(bytes[bytes.length - 1]);
  }

  @Test
  void putTakingStoresTheFileAndRemovesIt() throws IOException {
    byte[] bytes = randomBytes(100_000, 13);
    Path file = file("taken", bytes);

    store.putTaking("a/b/taken", file);

    assertThat(file).doesNotExist();
    assertThat(read(store.open("a/b/taken", 0))).isEqualTo(bytes);
  }

  @Test
  void putIfAbsentStoresOnlyTheFirst() throws IOException {
    assertThat(store.putIfAbsent("addon-1/data-key.json", file("first", "first".getBytes()))).isTrue();
    assertThat(store.putIfAbsent("addon-1/data-key.json", file("second", "second".getBytes()))).isFalse();
    assertThat(read(store.open("addon-1/data-key.json", 0))).isEqualTo("first".getBytes());
  }

  @Test
  void anEncryptedArchiveIsStoredUnreadableAndReadsBackFromAnyOffset() throws Exception {
    byte[] master = randomBytes(32, 7);
    ArchiveCipher cipher = new ArchiveCipher(store, master);
    byte[] plaintext = randomBytes(3 * 1024 * 1024 + 17, 8);
    String key = "addon-1/backup-1/archive.tar.gz" + ArchiveCipher.SUFFIX;
    Path encrypted = scratch.resolve("encrypted");
    cipher.encrypt("addon-1", key, file("plain", plaintext), encrypted);
    store.put(key, encrypted);

    byte[] atRest = read(store.open(key, 0));
    assertThat(atRest.length).isGreaterThan(plaintext.length);
    assertThat(Arrays.copyOfRange(atRest, 1000, 1100)).isNotEqualTo(Arrays.copyOfRange(plaintext, 1000, 1100));
    // another service with the same master secret reads it: the data key is stored, wrapped
    ArchiveCipher other = new ArchiveCipher(store, master);
    assertThat(read(other.open("addon-1", key, 0))).isEqualTo(plaintext);
    int offset = 2 * 1024 * 1024 + 5;
    assertThat(read(other.open("addon-1", key, offset))).isEqualTo(Arrays.copyOfRange(plaintext, offset, plaintext.length));

    // bound to its name and its addon, and to the master secret
    store.put("addon-2/backup-1/archive.tar.gz" + ArchiveCipher.SUFFIX, encrypted);
    assertThatThrownBy(() -> read(other.open("addon-2", "addon-2/backup-1/archive.tar.gz" + ArchiveCipher.SUFFIX, 0)))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(() -> read(new ArchiveCipher(store, randomBytes(32, 9)).open("addon-1", key, 0)))
        .isInstanceOf(IOException.class);
  }

  @Test
  void anyRangeOfAnEncryptedArchiveDecryptsToThePlaintextBytes() throws Exception {
    ArchiveCipher cipher = new ArchiveCipher(store, randomBytes(32, 7));
    byte[] plaintext = randomBytes(5 * 1024 * 1024 + 333, 11);
    String key = "addon-1/backup-2/archive.tar.zst" + ArchiveCipher.SUFFIX;
    Path encrypted = scratch.resolve("ranges");
    cipher.encrypt("addon-1", key, file("plain", plaintext), encrypted);
    store.put(key, encrypted);
    long boundary = segmentStart(1);
    long[][] ranges = {
        {0, plaintext.length}, {0, Long.MAX_VALUE}, {boundary, 3 * (1 << 20)}, {boundary - 1, 2}, {segmentStart(2), 1},
        {segmentStart(3) - 7, 100_000}, {plaintext.length - 5, 10}, {plaintext.length - 1, 1}, {plaintext.length, 10}};
    for (long[] range : ranges) {
      int from = (int) range[0];
      int to = (int) Math.min(plaintext.length, range[0] + Math.min(range[1], Integer.MAX_VALUE));
      byte[] expected = Arrays.copyOfRange(plaintext, from, to);
      var sink = new java.io.ByteArrayOutputStream();
      try (InputStream in = cipher.open("addon-1", key, range[0], range[1])) {
        in.transferTo(sink);
      }
      assertThat(sink.toByteArray()).as("bytes %d+%d, whole chunks", range[0], range[1]).isEqualTo(expected);
      try (InputStream in = cipher.open("addon-1", key, range[0], range[1])) {
        byte[] readInPieces = new byte[expected.length + 1];
        int n = 0;
        for (int r; n < readInPieces.length && (r = in.read(readInPieces, n, Math.min(65_537, readInPieces.length - n))) > 0; ) {
          n += r;
        }
        assertThat(Arrays.copyOf(readInPieces, n)).as("bytes %d+%d, small reads", range[0], range[1]).isEqualTo(expected);
      }
    }
  }

  @Test
  void aTamperedSegmentFailsTheReadInsteadOfYieldingBytes() throws Exception {
    ArchiveCipher cipher = new ArchiveCipher(store, randomBytes(32, 7));
    byte[] plaintext = randomBytes(4 * 1024 * 1024, 12);
    String key = "addon-1/backup-3/archive.tar.zst" + ArchiveCipher.SUFFIX;
    Path encrypted = scratch.resolve("tampered");
    cipher.encrypt("addon-1", key, file("plain", plaintext), encrypted);
    byte[] bytes = Files.readAllBytes(encrypted);
    bytes[(3 << 20) + 100] ^= 1;
    store.put(key, Files.write(encrypted, bytes));

    try (InputStream in = cipher.open("addon-1", key, 0, plaintext.length)) {
      assertThatThrownBy(() -> in.transferTo(java.io.OutputStream.nullOutputStream())).isInstanceOf(IOException.class);
    }
  }

  /** Where Tink's segment {@code k} starts in the plaintext, as the cipher computes it. */
  static long segmentStart(long k) throws Exception {
    return ArchiveCipher.geometry(com.google.crypto.tink.KeysetHandle.generateNew(
        com.google.crypto.tink.streamingaead.PredefinedStreamingAeadParameters.AES256_GCM_HKDF_1MB)).segmentStart(k);
  }

  @Test
  void anOffsetAtOrPastTheEndGivesAnEmptyStream() throws IOException {
    byte[] bytes = randomBytes(1000, 2);
    store.put("a/b/c", file("c", bytes));

    assertThat(read(store.open("a/b/c", bytes.length))).isEmpty();
    assertThat(read(store.open("a/b/c", bytes.length + 10))).isEmpty();
  }

  @Test
  void list_gives_the_stored_keys_under_a_prefix_in_order_and_nothing_else() throws IOException {
    for (String key : new String[] {"a1/pitr/wal/00000001/b", "a1/pitr/wal/00000001/a/2", "a1/pitr/wal/00000001/a/1",
        "a1/pitr/wal/00000002/x", "a1/backup/archive", "a10/pitr/wal/00000001/z"}) {
      store.put(key, file("f", key.getBytes()));
    }

    assertThat(store.list("a1/pitr/wal/00000001/"))
        .containsExactly("a1/pitr/wal/00000001/a/1", "a1/pitr/wal/00000001/a/2", "a1/pitr/wal/00000001/b");
    assertThat(store.list("a1/pitr/wal/0000000"))
        .containsExactly("a1/pitr/wal/00000001/a/1", "a1/pitr/wal/00000001/a/2", "a1/pitr/wal/00000001/b",
            "a1/pitr/wal/00000002/x");
    assertThat(store.list("a1/")).hasSize(5).doesNotContain("a10/pitr/wal/00000001/z");
    assertThat(store.list("nothing/here/")).isEmpty();
  }

  @Test
  void a_deleted_archive_is_no_longer_listed() throws IOException {
    store.put("a/w/1", file("f", new byte[] {1}));
    store.put("a/w/2", file("f", new byte[] {2}));
    store.delete("a/w/1");

    assertThat(store.list("a/w/")).containsExactly("a/w/2");
  }

  @Test
  void sizeAndExists() throws IOException {
    store.put("a/b/c", file("c", randomBytes(4567, 3)));

    assertThat(store.size("a/b/c")).isEqualTo(4567);
    assertThat(store.exists("a/b/c")).isTrue();
    assertThat(store.exists("a/b/other")).isFalse();
    assertThat(store.exists("a/b")).as("a folder-like prefix is not an archive").isFalse();
  }

  @Test
  void anEmptyArchive() throws IOException {
    store.put("a/b/empty", file("empty", new byte[0]));

    assertThat(store.exists("a/b/empty")).isTrue();
    assertThat(store.size("a/b/empty")).isZero();
    assertThat(read(store.open("a/b/empty", 0))).isEmpty();
  }

  @Test
  void putReplacesAnArchiveWhole() throws IOException {
    store.put("a/b/c", file("first", randomBytes(50_000, 4)));
    byte[] second = randomBytes(7_000, 5);
    store.put("a/b/c", file("second", second));

    assertThat(store.size("a/b/c")).isEqualTo(second.length);
    assertThat(read(store.open("a/b/c", 0))).isEqualTo(second);
  }

  @Test
  void deleteIsIdempotent() throws IOException {
    store.put("a/b/c", file("c", randomBytes(10, 6)));
    store.put("a/b/d", file("d", randomBytes(10, 7)));

    assertThat(store.delete("a/b/c")).isTrue();
    assertThat(store.exists("a/b/c")).isFalse();
    assertThat(store.delete("a/b/c")).as("already gone").isFalse();
    assertThat(store.delete("never/was/there")).isFalse();
    assertThat(store.exists("a/b/d")).as("a neighbour survives").isTrue();
    assertThatThrownBy(() -> store.open("a/b/c", 0)).isInstanceOf(ArchiveStore.NoSuchArchiveException.class);
  }

  @Test
  void aMissingArchiveIsNoSuchArchive() {
    assertThatThrownBy(() -> store.open("no/such/archive", 0))
        .isInstanceOf(ArchiveStore.NoSuchArchiveException.class)
        .hasMessageContaining("no/such/archive");
    assertThatThrownBy(() -> store.open("no/such/archive", 100)).isInstanceOf(ArchiveStore.NoSuchArchiveException.class);
    assertThatThrownBy(() -> store.size("no/such/archive")).isInstanceOf(ArchiveStore.NoSuchArchiveException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"../outside", "a/../../outside", "/etc/passwd"})
  void aKeyEscapingTheStoreIsRejected(String key) throws IOException {
    Path file = file("evil", randomBytes(10, 8));

    assertThatThrownBy(() -> store.put(key, file)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.open(key, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.size(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.exists(key)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.delete(key)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aLargeArchiveRoundTrips() throws IOException {
    byte[] bytes = randomBytes(LARGE, 9);
    store.put("a/b/large", file("large", bytes));

    assertThat(store.size("a/b/large")).isEqualTo(LARGE);
    assertThat(read(store.open("a/b/large", 0))).isEqualTo(bytes);
    long offset = LARGE - 1_000_000;
    assertThat(read(store.open("a/b/large", offset))).isEqualTo(Arrays.copyOfRange(bytes, (int) offset, LARGE));
  }

  @Test
  void closingBeforeTheEndLeavesTheStoreUsable() throws IOException {
    byte[] bytes = randomBytes(LARGE, 10);
    store.put("a/b/large", file("large", bytes));

    for (int i = 0; i < 3; i++) {
      try (InputStream in = store.open("a/b/large", 1000)) {
        assertThat(in.readNBytes(10)).isEqualTo(Arrays.copyOfRange(bytes, 1000, 1010));
      }
    }
    assertThat(read(store.open("a/b/large", LARGE - 10))).isEqualTo(Arrays.copyOfRange(bytes, LARGE - 10, LARGE));
  }

  Path file(String name, byte[] bytes) throws IOException {
    return Files.write(Files.createTempDirectory(scratch, "in").resolve(name), bytes);
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static byte[] read(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }
}
