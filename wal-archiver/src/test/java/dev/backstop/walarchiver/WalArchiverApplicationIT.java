package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.WalArchived;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.PitrBaseInfo;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.pitr.Lsn;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.testing.TestMongo;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The service end to end: an addon registered on backstop.addons gets a slot and its WAL archived (progress
 * published with the latest archived instant) and a base backup requested at once; a completed base opens
 * the window (streaming, earliest = the base's end); a hole in the archive is reported as a gap, breaks the
 * window and requests a new base; a removed addon's slot is dropped and its window becomes unavailable.
 */
class WalArchiverApplicationIT {

  @Test
  void a_registered_starter_addon_is_streamed_audited_and_its_slot_dropped_when_removed() throws Exception {
    int port = freePort();
    int replicaPort = freePort();
    String key = SecretSealer.newBase64Key();
    SecretSealer sealer = SecretSealer.fromBase64(key);
    Path archives = Files.createTempDirectory("wal-archiver-it");
    String addonId = "pg-" + UUID.randomUUID().toString().substring(0, 8);
    try (PostgresCluster primary = PostgresCluster.primary(port);
        PostgresCluster replica = primary.replica(replicaPort);
        InProcessKafka kafka = InProcessKafka.startTemporary();
        MongoHandle mongo = TestMongo.start();
        ConfigurableApplicationContext app = WalArchiverApplication.builder().run(
            "--spring.main.web-application-type=none",
            "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
            "--spring.mongodb.uri=" + mongo.uri(),
            "--backstop.secrets.key=" + key,
            "--backstop.archive.directory=" + archives,
            "--backstop.wal-archiver.tick=PT0.2S",
            "--backstop.wal-archiver.lease=PT5S",
            "--backstop.wal-archiver.audit-interval=PT1S",
            "--backstop.wal-archiver.progress-interval=PT1S")) {
      AddonSpec spec = new AddonSpec(addonId, "app-1", Engine.POSTGRESQL, Plan.STARTER, "postgres", "postgres",
          sealer.seal(addonId, "not-needed-with-trust"), List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", port),
              new DatabaseNode(NodeRole.SECONDARY, "127.0.0.1", replicaPort)),
          new BackupSchedule(true, 1, "Europe/Paris"));
      Events.publish(kafka.bootstrapServers(), Topics.ADDONS,
          List.of(new AddonRegistered(UUID.randomUUID().toString(), 1L, Instant.now(), spec)), e -> addonId);
      String slot = new StreamTarget(addonId, "127.0.0.1", port, "postgres", null, "").slotName();

      await().atMost(Duration.ofSeconds(60)).until(() -> primary.psql("postgres",
          "select count(*) from pg_replication_slots where slot_name = '" + slot + "' and active").equals("1"));
      primary.psql("postgres", "create table t as select g from generate_series(1, 20000) g");
      FilesystemArchiveStore store = new FilesystemArchiveStore(archives);
      await().atMost(Duration.ofSeconds(20)).until(() -> !store.list(PitrKeys.systemsPrefix(addonId)).isEmpty());
      await().atMost(Duration.ofSeconds(20)).until(() -> Events.readToEnd(kafka.bootstrapServers(), Topics.PITR_PROGRESS).stream().anyMatch(e -> e instanceof WalArchived a && a.getAddonId().equals(addonId)
              && a.getBytesPlain() > 0 && a.getBytesStored() > 0 && a.getLatest() != null));
      // the archive started: a base is requested at once, and the window waits for it
      await().atMost(Duration.ofSeconds(20)).until(() -> baseRequests(kafka, addonId).stream()
          .anyMatch(r -> r.getReason().contains("WAL archiving started")));
      await().atMost(Duration.ofSeconds(20)).until(() -> windows(kafka, addonId).stream()
          .anyMatch(w -> w.getState() == PitrState.STARTING));

      // Starter streams the primary; the secondary's slot of the same name follows the archive by SQL, so that
      // a stream moved there would resume without a gap
      String archivedLsn = primary.psql("postgres", "select pg_current_wal_lsn()");
      await().atMost(Duration.ofSeconds(20)).until(() -> replica.psql("postgres",
          "select count(*) from pg_replication_slots where slot_name = '" + slot + "' and not active and restart_lsn >= '"
              + archivedLsn + "'").equals("1"));

      // a base backup taken after the archive started completes (its LSNs read from the server, as pg_basebackup's manifest gives them)
      String startLsn = primary.psql("postgres", "select pg_current_wal_lsn()");
      primary.psql("postgres", "create table u as select g from generate_series(1, 1000) g");
      String stopLsn = primary.psql("postgres", "select pg_current_wal_lsn()");
      long systemId = Long.parseLong(primary.psql("postgres", "select system_identifier from pg_control_system()"));
      Instant endTime = Instant.now().truncatedTo(ChronoUnit.MILLIS);
      Events.publish(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, List.of(BackupCompleted.newBuilder()
          .setBackupId("base-1").setAddonId(addonId).setAppName("app-1").setKind(BackupKind.PITR_BASE)
          .setRequestedAt(endTime).setStartedAt(endTime).setCompletedAt(endTime).setNode("127.0.0.1:" + port)
          .setArchiveKey(PitrKeys.base(addonId, "base-1")).setArchiveName("base.tar.zst").setSizeBytes(1).setSha256("00")
          .setPitrBase(new PitrBaseInfo(1, Lsn.parse(startLsn).value(), Lsn.parse(stopLsn).value(), 150000, systemId, endTime))
          .build()), e -> addonId);
      await().atMost(Duration.ofSeconds(20)).until(() -> windows(kafka, addonId).stream().anyMatch(w ->
          w.getState() == PitrState.STREAMING && endTime.equals(w.getEarliest()) && w.getSystemId() == systemId
              && w.getBases().stream().anyMatch(b -> b.getBackupId().equals("base-1"))));

      // the archive loses its WAL: the audit reports the hole, the window breaks and a new base is requested
      for (String stored : store.list(PitrKeys.walPrefix(new dev.backstop.pitr.ClusterWal(addonId, systemId), 1))) {
        store.delete(stored);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> Events.readToEnd(kafka.bootstrapServers(), Topics.PITR_EVENTS).stream().anyMatch(e -> e instanceof WalGapDetected g && g.getAddonId().equals(addonId)
              && g.getReason().contains("missing from the archive")));
      await().atMost(Duration.ofSeconds(20)).until(() -> windows(kafka, addonId).getLast().getState() == PitrState.BROKEN);
      PitrWindowChanged broken = windows(kafka, addonId).getLast();
      assertThat(broken.getReason()).contains("missing from the archive");
      assertThat(broken.getBrokenSince()).isNotNull();
      assertThat(broken.getBases()).isEmpty();
      await().atMost(Duration.ofSeconds(20)).until(() -> baseRequests(kafka, addonId).stream()
          .anyMatch(r -> r.getReason().contains("gap") && r.getKind() == BackupKind.PITR_BASE && !r.getBackupId().contains("/")));

      Events.publish(kafka.bootstrapServers(), Topics.ADDONS,
          List.of(new AddonRemoved(UUID.randomUUID().toString(), 2L, Instant.now(), addonId, "app-1")), e -> addonId);
      await().atMost(Duration.ofSeconds(30)).until(() -> primary.psql("postgres",
          "select count(*) from pg_replication_slots where slot_name = '" + slot + "'").equals("0"));
      assertThat(replica.psql("postgres", "select count(*) from pg_replication_slots where slot_name = '" + slot + "'"))
          .isEqualTo("0");
      await().atMost(Duration.ofSeconds(20)).until(() -> windows(kafka, addonId).getLast().getState() == PitrState.UNAVAILABLE);
    }
  }

  static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static List<PitrWindowChanged> windows(InProcessKafka kafka, String addonId) {
    return Events.readToEnd(kafka.bootstrapServers(), Topics.PITR_EVENTS).stream()
        .filter(e -> e instanceof PitrWindowChanged w && w.getAddonId().equals(addonId)).map(e -> (PitrWindowChanged) e)
        .toList();
  }

  static List<BackupRequested> baseRequests(InProcessKafka kafka, String addonId) {
    return Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS).stream()
        .filter(e -> e instanceof BackupRequested r && r.getAddonId().equals(addonId) && r.getKind() == BackupKind.PITR_BASE)
        .map(e -> (BackupRequested) e).toList();
  }
}
