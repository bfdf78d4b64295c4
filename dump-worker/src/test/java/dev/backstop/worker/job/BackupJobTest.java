package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.testing.MongoHandle;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.dump.DumpEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job's outcomes, with a fake dump tool and a real (in-process) store. */
class BackupJobTest {

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-21T01:10:00Z"), ZoneOffset.UTC);
  private final List<SpecificRecord> published = new ArrayList<>();
  private final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
  private MongoHandle mongo;
  private MongoClient client;
  private AddonCatalog addons;
  private JobLedger ledger;

  @TempDir Path dir;

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    var database = client.getDatabase("worker-" + System.nanoTime());
    addons = new AddonCatalog(database);
    ledger = new JobLedger(database);
    var spec = Events.addon("pg-1", "app", Plan.STARTER, 1, "UTC");
    spec.setPassword(sealer.seal("pg-1", "pw"));
    addons.upsert(spec, 1);
  }

  @AfterEach
  void stop() {
    client.close();
    mongo.close();
  }

  private dev.backstop.kit.archive.ArchiveCipher cipher;

  /** What the fake engine answers on each attempt: null dumps, a message fails with it. */
  private final java.util.Deque<String> failures = new java.util.ArrayDeque<>();
  private int attempts;

  private BackupJob job(Path archives) {
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String addonId, SpecificRecord event) {
        published.add(event);
      }
    };
    DumpEngine fake = new DumpEngine() {
      @Override
      public String dumpFileName(String database) {
        return database + ".pgsql";
      }

      @Override
      public void dump(dev.backstop.worker.dump.DumpTarget target, Path output, Path scratch)
          throws dev.backstop.worker.dump.DumpFailedException {
        attempts++;
        String failure = failures.poll();
        if (failure != null) {
          throw new dev.backstop.worker.dump.DumpFailedException(failure);
        }
        try {
          Files.writeString(output, "PGDMP fake dump");
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    };
    WorkerProperties properties = new WorkerProperties();
    properties.setWorkDirectory(dir.resolve("work"));
    properties.setAddonWait(Duration.ofMillis(100));
    properties.setRetryBackoff(Duration.ofMillis(10));
    var store = new FilesystemArchiveStore(archives);
    cipher = new dev.backstop.kit.archive.ArchiveCipher(store, java.util.Base64.getDecoder().decode(SecretSealer.newBase64Key()));
    return new BackupJob(addons, ledger, store, publisher, sealer,
        Map.of(Engine.POSTGRESQL, fake), properties, clock, cipher, new dev.backstop.kit.config.BackstopProperties());
  }

  private BackupRequested request(String id) {
    return new BackupRequested(id, "pg-1", "app", BackupKind.MANUAL, clock.instant(), null);
  }

  @Test
  void a_dump_ends_completed_once_and_a_redelivered_request_is_dropped() throws Exception {
    BackupJob job = job(dir.resolve("archives"));
    job.handle(request("b1"));
    job.handle(request("b1"));

    assertThat(published).hasSize(2);
    assertThat(published.get(0)).isInstanceOf(BackupStarted.class);
    BackupCompleted completed = (BackupCompleted) published.get(1);
    assertThat(completed.getArchiveName()).isEqualTo("20261121011000_db_pg_1.tar.gz");
    assertThat(dir.resolve("archives").resolve(completed.getArchiveKey())).exists();
  }

  @Test
  void a_server_restarting_is_retried_with_backoff_and_the_backup_completes_once() throws Exception {
    failures.add("pg_dump failed: connection to server at \"db\" failed: Connection refused");
    failures.add("pg_dump failed: FATAL: the database system is starting up");
    job(dir.resolve("archives")).handle(request("b5"));

    assertThat(attempts).isEqualTo(3);
    assertThat(published).hasSize(2);
    assertThat(published.get(1)).isInstanceOf(BackupCompleted.class);
  }

  @Test
  void a_wrong_password_fails_at_once_and_a_lasting_outage_fails_after_the_last_attempt() throws Exception {
    failures.add("pg_dump failed: FATAL: password authentication failed for user \"app\"");
    job(dir.resolve("archives")).handle(request("b6"));
    assertThat(attempts).isEqualTo(1);
    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).isEqualTo("pg_dump failed: FATAL: password authentication failed for user \"app\""));

    attempts = 0;
    for (int i = 0; i < 5; i++) {
      failures.add("mysqldump failed: Got error: 2002: Can't connect to MySQL server on 'db' (115)");
    }
    job(dir.resolve("archives")).handle(request("b7"));
    assertThat(attempts).isEqualTo(3);
    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).endsWith("(115) (after 3 attempts)"));
  }

  @Test
  void the_archive_is_stored_encrypted_and_its_size_and_sha256_are_those_of_the_plaintext_customers_download() throws Exception {
    job(dir.resolve("archives")).handle(request("b4"));

    BackupCompleted completed = (BackupCompleted) published.get(1);
    assertThat(completed.getArchiveKey()).endsWith(".tar.gz.tink");
    byte[] stored = Files.readAllBytes(dir.resolve("archives").resolve(completed.getArchiveKey()));
    assertThat(stored[0] == (byte) 0x1f && stored[1] == (byte) 0x8b).as("no gzip header at rest").isFalse();
    byte[] plaintext;
    try (var in = cipher.open("pg-1", completed.getArchiveKey(), 0)) {
      plaintext = in.readAllBytes();
    }
    assertThat(plaintext[0]).isEqualTo((byte) 0x1f);
    assertThat((long) plaintext.length).isEqualTo(completed.getSizeBytes());
    assertThat(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(plaintext)))
        .isEqualTo(completed.getSha256());
  }

  @Test
  void an_archive_that_cannot_be_stored_ends_failed_with_the_reason_not_stuck_running() throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("file"), "x");
    job(notADirectory).handle(request("b2"));

    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).startsWith("the archive could not be stored"));
  }

  @Test
  void an_unknown_addon_ends_failed_after_the_wait() throws Exception {
    job(dir.resolve("archives")).handle(new BackupRequested("b3", "nope", "app", BackupKind.MANUAL, clock.instant(), null));
    assertThat(published).singleElement().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).isEqualTo("addon nope is not registered with Backstop"));
  }
}
