package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One addon, two clusters (the second re-initialised under the same addon, so its WAL has the old one's
 * file names), and an archive written before keys named the cluster.
 */
class ClusterWalStoreTest {

  static final long SEG = 16L * 1024 * 1024;
  static final WalSegmentName SEGMENT = WalSegmentName.parse("000000010000000000000003", SEG);
  static final long SYSTEM_A = 7_400_000_000_000_000_001L;
  static final long SYSTEM_B = Long.parseUnsignedLong("17446744073709551615");
  static final ClusterWal A = new ClusterWal("a1", SYSTEM_A);
  static final ClusterWal B = new ClusterWal("a1", SYSTEM_B);
  static final ClusterWal LEGACY = ClusterWal.legacy("a1");

  @TempDir Path tmp;
  FilesystemArchiveStore archive;
  ArchiveCipher cipher;
  ArchiveWalSegmentStore wal;

  @BeforeEach
  void setUp() throws IOException {
    archive = new FilesystemArchiveStore(tmp.resolve("store"));
    byte[] master = new byte[32];
    new Random(1).nextBytes(master);
    cipher = new ArchiveCipher(archive, master);
    wal = new ArchiveWalSegmentStore(archive, cipher, tmp.resolve("scratch"));
  }

  /** A segment as PostgreSQL writes it: a long page header naming its cluster, then WAL (random here). */
  static byte[] segmentOf(long systemId, int seed) {
    byte[] bytes = new byte[(int) SEG];
    new Random(seed).nextBytes(bytes);
    ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    header.putShort(0, (short) 0xD110).putShort(2, (short) 0x0006).putInt(4, 1).putLong(8, SEGMENT.startLsn().value())
        .putInt(12, 0).putLong(24, systemId).putInt(32, (int) SEG).putInt(36, 8192);
    return bytes;
  }

  @Test
  void two_clusters_writing_the_same_segment_names_never_share_an_object() throws IOException {
    byte[] a = segmentOf(SYSTEM_A, 1);
    byte[] b = segmentOf(SYSTEM_B, 2);
    wal.putChunk(A, SEGMENT, SEGMENT.startLsn(), ByteBuffer.wrap(a, 0, 5000));
    // the same range of the re-initialised cluster: a putIfAbsent on a shared key would have kept A's bytes
    wal.putChunk(B, SEGMENT, SEGMENT.startLsn(), ByteBuffer.wrap(b, 0, 5000));
    wal.putHistory(A, 2, "1\t0/4000000\tA\n".getBytes(StandardCharsets.UTF_8));

    assertThat(Arrays.copyOf(wal.fetchSegment(A, SEGMENT).orElseThrow(), 5000)).isEqualTo(Arrays.copyOf(a, 5000));
    assertThat(Arrays.copyOf(wal.fetchSegment(B, SEGMENT).orElseThrow(), 5000)).isEqualTo(Arrays.copyOf(b, 5000));
    assertThat(wal.list(A, 1, SEG)).hasSize(1).allMatch(w -> w.key().startsWith("a1/pitr/system/" + SYSTEM_A + "/"));
    assertThat(wal.history(B, 2)).as("a history of A is no history of B").isEmpty();
    assertThat(wal.systems("a1")).containsExactly(SYSTEM_A, SYSTEM_B);
  }

  @Test
  void a_segment_under_a_cluster_holding_another_clusters_wal_is_refused_loudly() throws IOException {
    wal.putSegment(A, SEGMENT, segmentOf(SYSTEM_B, 3));

    assertThatThrownBy(() -> wal.fetchSegment(A, SEGMENT)).isInstanceOf(IOException.class)
        .hasMessageContaining("holds WAL of system " + Long.toUnsignedString(SYSTEM_B));
  }

  @Test
  void the_legacy_layout_is_read_as_its_claimed_cluster_and_by_no_other() throws IOException {
    byte[] old = segmentOf(SYSTEM_A, 4);
    wal.putSegment(LEGACY, SEGMENT, old);
    wal.putChunk(LEGACY, SEGMENT.next(), SEGMENT.next().startLsn(), ByteBuffer.wrap(old, 0, 100));
    wal.putHistory(LEGACY, 2, "1\t0/4000000\told\n".getBytes(StandardCharsets.UTF_8));

    assertThat(wal.claimLegacy("a1", SYSTEM_A)).hasValue(SYSTEM_A);
    assertThat(wal.claimLegacy("a1", SYSTEM_B)).as("the first claim stays").hasValue(SYSTEM_A);
    // a fresh reader (another process) reads the claim from the store
    ArchiveWalSegmentStore reader = new ArchiveWalSegmentStore(archive, cipher, tmp.resolve("scratch2"));

    assertThat(reader.fetchSegment(A, SEGMENT)).hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(old));
    assertThat(reader.list(A, 1, SEG)).extracting(StoredWal::chunk).containsExactly(false, true);
    assertThat(reader.history(A, 2)).isPresent();
    assertThat(reader.fetchSegment(B, SEGMENT)).isEmpty();
    assertThat(reader.list(B, 1, SEG)).isEmpty();
    assertThat(reader.history(B, 2)).isEmpty();

    // A's own layout comes first; the legacy layout still fills in what A streamed before the upgrade
    byte[] newer = segmentOf(SYSTEM_A, 5);
    reader.putSegment(A, SEGMENT.next(), newer);
    assertThat(reader.fetchSegment(A, SEGMENT.next())).hasValueSatisfying(bytes -> assertThat(bytes).isEqualTo(newer));
    assertThat(reader.list(A, 1, SEG)).hasSize(3);
  }

  @Test
  void an_unclaimed_legacy_layout_hands_over_only_segments_whose_first_page_names_the_cluster() throws IOException {
    wal.putSegment(LEGACY, SEGMENT, segmentOf(SYSTEM_A, 6));

    assertThat(wal.legacyOwner("a1")).isEmpty();
    assertThat(wal.fetchSegment(A, SEGMENT)).isPresent();
    assertThat(wal.fetchSegment(B, SEGMENT)).as("B's restore would otherwise replay A's WAL").isEmpty();
  }

  @Test
  void an_empty_legacy_layout_is_not_claimed() throws IOException {
    assertThat(wal.claimLegacy("a1", SYSTEM_A)).isEmpty();
    assertThat(wal.legacyOwner("a1")).isEmpty();
  }

  @Test
  void a_former_clusters_archive_goes_whole_with_the_legacy_layout_it_owns() throws IOException {
    wal.putSegment(LEGACY, SEGMENT, segmentOf(SYSTEM_A, 7));
    wal.claimLegacy("a1", SYSTEM_A);
    wal.putSegment(A, SEGMENT.next(), segmentOf(SYSTEM_A, 8));
    wal.putHistory(A, 2, "1\t0/4000000\tA\n".getBytes(StandardCharsets.UTF_8));
    wal.putSegment(B, SEGMENT, segmentOf(SYSTEM_B, 9));

    assertThat(wal.deleteCluster(A)).isEqualTo(3);

    assertThat(wal.list(A, 1, SEG)).isEmpty();
    assertThat(wal.history(A, 2)).isEmpty();
    assertThat(wal.systems("a1")).containsExactly(SYSTEM_B);
    assertThat(wal.list(B, 1, SEG)).hasSize(1);
  }

  @Test
  void only_a_wal_long_page_header_gives_a_system_identifier() {
    assertThat(WalPageHeader.systemId(segmentOf(SYSTEM_B, 10), SEG)).hasValue(SYSTEM_B);
    assertThat(WalPageHeader.systemId(segmentOf(SYSTEM_B, 10), SEG / 2)).as("another segment size").isEmpty();
    byte[] random = new byte[(int) SEG];
    new Random(11).nextBytes(random);
    assertThat(WalPageHeader.systemId(random, SEG)).isEmpty();
    assertThat(WalPageHeader.systemId(new byte[(int) SEG], SEG)).isEmpty();
  }
}
