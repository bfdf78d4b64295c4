package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.WalSegmentName;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.PitrBaseInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WAL pruning against a real (filesystem) store and the bases as the backup events leave them. */
class WalPrunerTest {

  static final long SEG = 1024 * 1024;
  static final long SYSTEM = 7_400_000_000_000_000_001L;
  static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");
  static final String ADDON = "pg-1";
  static final ClusterWal CLUSTER = new ClusterWal(ADDON, SYSTEM);

  @TempDir Path tmp;
  InProcessMongo mongo;
  MongoClient client;
  PitrBases bases;
  StreamLeases leases;
  ArchiveWalSegmentStore wal;
  WalPruner pruner;

  @BeforeEach
  void setUp() throws IOException {
    mongo = InProcessMongo.inMemory();
    client = MongoClients.create(mongo.uri());
    bases = new PitrBases(client.getDatabase("wal"));
    leases = new StreamLeases(client.getDatabase("wal"));
    FilesystemArchiveStore archive = new FilesystemArchiveStore(tmp.resolve("store"));
    byte[] master = new byte[32];
    new Random(1).nextBytes(master);
    wal = new ArchiveWalSegmentStore(archive, new ArchiveCipher(archive, master), tmp.resolve("scratch"));
    pruner = new WalPruner(wal, bases, leases);
    long epoch = leases.claim(ADDON, "me", T0, Duration.ofSeconds(30)).orElseThrow();
    leases.saveFacts(ADDON, "me", epoch, new StreamFacts(SYSTEM, SEG, 0L, WindowTracker.STARTED, "started", 1,
        6 * SEG + 5000, T0, null, null, null, null, 0L));
    // segments 0..5 whole, segment 6 still as chunks
    Random random = new Random(2);
    for (long s = 0; s <= 5; s++) {
      byte[] plain = new byte[(int) SEG];
      random.nextBytes(plain);
      wal.putSegment(CLUSTER, new WalSegmentName(1, s, SEG), plain);
    }
    WalSegmentName open = new WalSegmentName(1, 6, SEG);
    wal.putChunk(CLUSTER, open, open.startLsn(), ByteBuffer.wrap(new byte[2000]));
    wal.putChunk(CLUSTER, open, open.startLsn().plus(2000), ByteBuffer.wrap(new byte[3000]));
  }

  @AfterEach
  void tearDown() {
    client.close();
    mongo.close();
  }

  void completed(String backupId, long startLsn, long system) {
    bases.completed(BackupCompleted.newBuilder().setBackupId(backupId).setAddonId(ADDON).setAppName("app")
        .setKind(BackupKind.PITR_BASE).setRequestedAt(T0).setStartedAt(T0).setCompletedAt(T0).setNode("n")
        .setArchiveKey("k").setArchiveName("base").setSizeBytes(1).setSha256("00")
        .setPitrBase(new PitrBaseInfo(1, startLsn, startLsn + 4096, 150000, system, T0)).build());
  }

  boolean pruned(String backupId) {
    return bases.pruned(new BackupPruned(backupId, ADDON, "app", T0, "superseded")).isPresent();
  }

  long stored() throws IOException {
    return wal.list(CLUSTER, 1, SEG).size();
  }

  @Test
  void after_the_oldest_base_is_pruned_only_wal_below_the_next_one_goes_and_that_base_still_replays() throws IOException {
    completed("old", 2 * SEG + 100, SYSTEM);
    completed("new", 4 * SEG + 10, SYSTEM);

    assertThat(pruner.prune(ADDON)).as("both kept: below the old one's segment only").isEqualTo(2);

    assertThat(pruned("old")).isTrue();
    assertThat(pruner.prune(ADDON)).isEqualTo(2);

    assertThat(wal.list(CLUSTER, 1, SEG)).extracting(StoredWal::segment).extracting(WalSegmentName::segmentNumber)
        .containsExactly(4L, 5L, 6L, 6L);
    for (long s = 4; s <= 6; s++) {
      assertThat(wal.fetchSegment(CLUSTER, new WalSegmentName(1, s, SEG))).as("segment %s readable", s).isPresent();
    }
  }

  @Test
  void pruning_again_or_replaying_the_completion_of_a_pruned_base_changes_nothing() throws IOException {
    completed("old", 2 * SEG + 100, SYSTEM);
    completed("new", 4 * SEG + 10, SYSTEM);
    pruned("old");
    pruner.prune(ADDON);
    long left = stored();

    completed("old", 2 * SEG + 100, SYSTEM); // a replay of the topic from offset 0

    assertThat(bases.kept(ADDON)).extracting(PitrBases.StoredBase::backupId).containsExactly("new");
    assertThat(pruner.prune(ADDON)).isZero();
    assertThat(stored()).isEqualTo(left);
  }

  @Test
  void nothing_goes_when_no_base_of_the_streamed_cluster_is_kept() throws IOException {
    completed("other-cluster", 5 * SEG, 42L);

    assertThat(pruner.prune(ADDON)).isZero();
    assertThat(stored()).isEqualTo(8);
  }

  @Test
  void a_former_clusters_archive_stays_whole_while_a_base_of_it_is_kept_and_goes_whole_after() throws IOException {
    // the addon's server was re-initialised: cluster 42 streamed before (partly in the legacy layout), SYSTEM now
    ClusterWal former = new ClusterWal(ADDON, 42L);
    byte[] plain = new byte[(int) SEG];
    wal.putSegment(ClusterWal.legacy(ADDON), new WalSegmentName(1, 1, SEG), plain);
    assertThat(wal.claimLegacy(ADDON, 42L)).hasValue(42L);
    for (long s = 2; s <= 7; s++) {
      wal.putSegment(former, new WalSegmentName(1, s, SEG), plain);
    }
    wal.putHistory(former, 2, "1\t0/2000000\tno recovery target specified\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    completed("former-base", 3 * SEG, 42L);
    completed("current-base", 2 * SEG + 100, SYSTEM);

    assertThat(pruner.prune(ADDON)).as("the streamed cluster's below its base; the former one kept whole").isEqualTo(2);
    assertThat(wal.list(former, 1, SEG)).hasSize(7);
    assertThat(wal.list(CLUSTER, 1, SEG)).as("the legacy layout is the former cluster's, not this one's")
        .extracting(StoredWal::segment).extracting(WalSegmentName::segmentNumber).containsExactly(2L, 3L, 4L, 5L, 6L, 6L);

    assertThat(pruned("former-base")).isTrue();
    assertThat(pruner.prune(ADDON)).as("six segments, the history and the legacy segment").isEqualTo(8);

    assertThat(wal.systems(ADDON)).containsExactly(SYSTEM);
    assertThat(wal.list(former, 1, SEG)).isEmpty();
    assertThat(wal.history(former, 2)).isEmpty();
    assertThat(wal.list(CLUSTER, 1, SEG)).hasSize(6);
  }

  @Test
  void a_pruned_backup_that_is_not_a_base_is_ignored() {
    assertThat(pruned("a-daily-dump")).isFalse();
    assertThat(bases.kept(ADDON)).isEmpty();
  }
}
