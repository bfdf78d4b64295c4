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
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The service end to end: an addon registered on backstop.addons gets a slot and its WAL archived (progress
 * published), a hole in the archive is reported as a gap, and a removed addon's slot is dropped.
 */
class WalArchiverApplicationIT {

  @Test
  void a_registered_starter_addon_is_streamed_audited_and_its_slot_dropped_when_removed() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String key = SecretSealer.newBase64Key();
    SecretSealer sealer = SecretSealer.fromBase64(key);
    Path archives = Files.createTempDirectory("wal-archiver-it");
    String addonId = "pg-" + UUID.randomUUID().toString().substring(0, 8);
    try (PostgresCluster primary = PostgresCluster.primary(port);
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
            "--backstop.wal-archiver.audit-interval=PT1S")) {
      AddonSpec spec = new AddonSpec(addonId, "app-1", Engine.POSTGRESQL, Plan.STARTER, "postgres", "postgres",
          sealer.seal(addonId, "not-needed-with-trust"), List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", port)),
          new BackupSchedule(true, 1, "Europe/Paris"));
      Events.publish(kafka.bootstrapServers(), Topics.ADDONS,
          List.of(new AddonRegistered(UUID.randomUUID().toString(), 1L, Instant.now(), spec)), e -> addonId);
      String slot = new StreamTarget(addonId, "127.0.0.1", port, "postgres", null, "").slotName();

      await().atMost(Duration.ofSeconds(60)).until(() -> primary.psql("postgres",
          "select count(*) from pg_replication_slots where slot_name = '" + slot + "' and active").equals("1"));
      primary.psql("postgres", "create table t as select g from generate_series(1, 20000) g");
      FilesystemArchiveStore store = new FilesystemArchiveStore(archives);
      await().atMost(Duration.ofSeconds(20)).until(() -> !store.list(PitrKeys.walPrefix(addonId, 1)).isEmpty());
      await().atMost(Duration.ofSeconds(20)).until(() -> Events.readAll(kafka.bootstrapServers(), Topics.PITR_PROGRESS,
          Duration.ofMillis(300)).stream().anyMatch(e -> e instanceof WalArchived a && a.getAddonId().equals(addonId)
              && a.getBytesPlain() > 0 && a.getBytesStored() > 0));

      // the archive loses its WAL: the audit reports the hole
      for (String stored : store.list(PitrKeys.walPrefix(addonId, 1))) {
        store.delete(stored);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> Events.readAll(kafka.bootstrapServers(), Topics.PITR_EVENTS,
          Duration.ofMillis(300)).stream().anyMatch(e -> e instanceof WalGapDetected g && g.getAddonId().equals(addonId)
              && g.getReason().contains("missing from the archive")));

      Events.publish(kafka.bootstrapServers(), Topics.ADDONS,
          List.of(new AddonRemoved(UUID.randomUUID().toString(), 2L, Instant.now(), addonId, "app-1")), e -> addonId);
      await().atMost(Duration.ofSeconds(30)).until(() -> primary.psql("postgres",
          "select count(*) from pg_replication_slots where slot_name = '" + slot + "'").equals("0"));
    }
  }
}
