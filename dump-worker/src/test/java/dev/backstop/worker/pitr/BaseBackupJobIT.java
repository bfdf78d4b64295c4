package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.backup.BackupJob;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresReplicaProbe;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A real PostgreSQL primary and streaming standby, the worker's real job runner, ledger and store:
 * a Business addon's {@code PITR_BASE} request is taken with {@code pg_basebackup} on the standby, stored
 * encrypted where restores read it, and its completion carries the manifest's WAL range, the server's
 * version and system id. A MySQL addon's request fails with the reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BaseBackupJobIT {

  private final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
  private final List<SpecificRecord> published = Collections.synchronizedList(new ArrayList<>());
  private PostgresCluster primary;
  private PostgresCluster standby;
  private MongoHandle mongo;
  private MongoClient client;
  private AddonCatalog addons;
  private FilesystemArchiveStore store;
  private ArchiveCipher cipher;
  private BackupJob job;
  private JobRunner runner;
  private Path dir;

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("base-backup-it");
    primary = PostgresCluster.primary(freePort());
    primary.psql("postgres", "CREATE DATABASE shop");
    primary.psql("shop", "CREATE TABLE orders(id int PRIMARY KEY, note text); "
        + "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    standby = primary.replica(freePort());
    await().atMost(Duration.ofSeconds(30)).until(() -> standby.psql("shop", "SELECT count(*) FROM orders").equals("20000"));

    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    var database = client.getDatabase("worker-" + System.nanoTime());
    addons = new AddonCatalog(database);
    JobLedger ledger = new JobLedger(database);
    HostSlots slots = new HostSlots(database);
    store = new FilesystemArchiveStore(dir.resolve("archives"));
    cipher = new ArchiveCipher(store, Base64.getDecoder().decode(SecretSealer.newBase64Key()));
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String addonId, SpecificRecord event) {
        if (topic.equals(dev.backstop.schemas.Topics.BACKUP_EVENTS)) {
          published.add(event);
        }
      }
    };
    WorkerProperties properties = WorkerProperties.bind(Map.of("work-directory", dir.resolve("work"),
        "heartbeat-interval", "200ms", "retry-backoff", "100ms"));
    Map<Engine, ReplicaProbe> probes = Map.of(Engine.POSTGRESQL, new PostgresReplicaProbe("psql", dir.resolve("work")));
    BaseBackupJob bases = new BaseBackupJob(addons, ledger, slots, store, publisher, sealer, probes, properties,
        Clock.systemUTC(), cipher, PostgresClients.byVersion(properties.pgClientDirectory(), properties.pgDump(), "pg_restore"));
    // the dispatch as the worker wires it: the dump job hands PITR_BASE jobs to the base backup job
    job = new BackupJob(addons, ledger, slots, store, publisher, sealer, Map.of(), probes, properties, Clock.systemUTC(),
        cipher, BackstopProperties.bind(Map.of()), List.of(bases));
    runner = new JobRunner("backup", ledger, job::execute, 2, properties.instanceName(), properties.leaseDuration(),
        Duration.ofMillis(50), properties.retryBackoff(), Clock.systemUTC()).start();
  }

  @AfterAll
  void stop() {
    if (runner != null) {
      runner.close();
    }
    if (client != null) {
      client.close();
    }
    if (mongo != null) {
      mongo.close();
    }
    if (standby != null) {
      standby.close();
    }
    if (primary != null) {
      primary.close();
    }
    dev.backstop.worker.job.JobLifecycle.deleteTree(dir);
  }

  @Test
  void a_business_base_backup_is_taken_on_the_standby_stored_encrypted_and_its_manifest_wal_range_recorded() throws Exception {
    AddonSpec spec = new AddonSpec("pg-biz", "shop-app", Engine.POSTGRESQL, Plan.BUSINESS, "shop", "postgres",
        sealer.seal("pg-biz", "not-needed-with-trust"), List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", primary.port()),
            new DatabaseNode(NodeRole.SECONDARY, "127.0.0.1", standby.port())), Events.addon("x", "y", Plan.BUSINESS, 1, "UTC").getSchedule());
    addons.upsert(spec, 1);
    Instant requested = Instant.now();

    request("base-biz-1", "pg-biz");
    BackupCompleted completed = outcome("base-biz-1", BackupCompleted.class);

    BackupStarted started = (BackupStarted) published.stream()
        .filter(e -> e instanceof BackupStarted s && s.getBackupId().equals("base-biz-1")).findFirst().orElseThrow();
    assertThat(started.getNode()).isEqualTo("SECONDARY@127.0.0.1:" + standby.port());
    assertThat(completed.getKind()).isEqualTo(BackupKind.PITR_BASE);
    assertThat(completed.getNode()).isEqualTo("SECONDARY@127.0.0.1:" + standby.port());
    assertThat(completed.getArchiveKey()).isEqualTo(PitrKeys.base("pg-biz", "base-biz-1"));
    assertThat(completed.getArchiveName()).endsWith("_pitr-base.tar.zst");

    var base = completed.getPitrBase();
    assertThat(base.getTimeline()).isEqualTo(1);
    assertThat(base.getServerVersionNum() / 10000).isEqualTo(
        Integer.parseInt(primary.psql("postgres", "SHOW server_version_num")) / 10000);
    assertThat(base.getSystemId()).isEqualTo(Long.parseLong(primary.psql("postgres",
        "SELECT system_identifier FROM pg_control_system()")));
    assertThat(base.getEndTime()).isAfterOrEqualTo(requested).isBeforeOrEqualTo(completed.getCompletedAt());
    // on a standby the backup starts at its last restartpoint, which may be older than the request
    assertThat(new Lsn(base.getStopLsn())).isGreaterThanOrEqualTo(new Lsn(base.getStartLsn()))
        .isLessThanOrEqualTo(Lsn.parse(primary.psql("postgres", "SELECT pg_current_wal_lsn()")));

    // stored encrypted: the raw object is not a zstd frame, and only the addon's key opens it
    byte[] raw = store.open(completed.getArchiveKey(), 0).readNBytes(4);
    assertThat(raw).isNotEqualTo(new byte[] {(byte) 0x28, (byte) 0xb5, (byte) 0x2f, (byte) 0xfd});

    // opened the way restores open it: the tar of pg_basebackup, with its label and manifest
    Map<String, String> small = new HashMap<>();
    List<String> names = new ArrayList<>();
    var reader = new ArchiveReader(store, cipher);
    try (var unpacked = reader.unpack("pg-biz", completed.getArchiveKey(), completed.getArchiveName())) {
      TarArchiveInputStream tar = unpacked.members();
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        names.add(entry.getName());
        if (entry.getName().equals("backup_label") || entry.getName().equals("backup_manifest")) {
          small.put(entry.getName(), new String(tar.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      assertThat(unpacked.check(completed.getSizeBytes(), completed.getSha256())).isNull();
    }
    assertThat(names).contains("PG_VERSION", "global/pg_control", "backup_label", "backup_manifest");
    assertThat(names).noneMatch(n -> n.startsWith("pg_wal/0")); // -X none: the WAL comes from the archive
    assertThat(small.get("backup_label")).contains("LABEL: backstop-base-biz-1").contains("BACKUP FROM: standby")
        .contains("START WAL LOCATION: " + new Lsn(base.getStartLsn()));
    BaseBackupManifest manifest = BaseBackupManifest.parse(small.get("backup_manifest"));
    assertThat(manifest).isEqualTo(new BaseBackupManifest(1, new Lsn(base.getStartLsn()), new Lsn(base.getStopLsn())));
  }

  @Test
  void a_mysql_addons_base_backup_request_fails_at_once_with_the_reason() throws Exception {
    AddonSpec spec = Events.addon("my-1", "shop-app", Plan.STARTER, 1, "UTC");
    spec.setEngine(Engine.MYSQL);
    spec.setPassword(sealer.seal("my-1", "pw"));
    addons.upsert(spec, 1);

    request("base-my-1", "my-1");

    BackupFailed failed = outcome("base-my-1", BackupFailed.class);
    assertThat(failed.getKind()).isEqualTo(BackupKind.PITR_BASE);
    assertThat(failed.getReason()).isEqualTo("point-in-time recovery is offered for PostgreSQL only; mysql databases have no base backups");
  }

  private void request(String backupId, String addonId) {
    assertThat(job.record(new BackupRequested(backupId, addonId, "shop-app", BackupKind.PITR_BASE, Instant.now(), null, null,
        "test"))).isTrue();
    runner.wake();
  }

  private <T extends SpecificRecord> T outcome(String backupId, Class<T> type) {
    await().atMost(Duration.ofSeconds(60)).until(() -> published.stream().anyMatch(e -> isOutcomeOf(e, backupId)));
    SpecificRecord outcome = published.stream().filter(e -> isOutcomeOf(e, backupId)).findFirst().orElseThrow();
    assertThat(outcome).as(outcome.toString()).isInstanceOf(type);
    assertThat(published.stream().filter(e -> isOutcomeOf(e, backupId))).hasSize(1);
    return type.cast(outcome);
  }

  private static boolean isOutcomeOf(SpecificRecord event, String backupId) {
    return event instanceof BackupCompleted c && c.getBackupId().equals(backupId)
        || event instanceof BackupFailed f && f.getBackupId().equals(backupId);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
