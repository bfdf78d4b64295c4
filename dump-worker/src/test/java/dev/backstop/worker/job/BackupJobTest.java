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
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.dump.DumpEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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

  private static final byte[] ZSTD_MAGIC = {(byte) 0x28, (byte) 0xb5, (byte) 0x2f, (byte) 0xfd};

  private final SteppedClock clock = new SteppedClock(Instant.parse("2026-11-21T01:10:00Z"));
  private final List<SpecificRecord> published = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<SpecificRecord> progress = java.util.Collections.synchronizedList(new ArrayList<>());
  private final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
  private MongoHandle mongo;
  private MongoClient client;
  private AddonCatalog addons;
  private JobLedger ledger;
  private HostSlots slots;

  @TempDir Path dir;

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    var database = client.getDatabase("worker-" + System.nanoTime());
    addons = new AddonCatalog(database);
    ledger = new JobLedger(database);
    slots = new HostSlots(database);
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
  private volatile int attempts;

  /** Runs inside the fake dump after its first bytes: slow dumps, takeovers. */
  private interface DuringDump {
    void run(java.io.OutputStream output) throws IOException;
  }

  private DuringDump duringDump = output -> {};

  private BackupJob job(Path archives) {
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String addonId, SpecificRecord event) {
        (topic.equals(dev.backstop.schemas.Topics.BACKUP_PROGRESS) ? progress : published).add(event);
      }
    };
    DumpEngine fake = new DumpEngine() {
      @Override
      public String dumpFileName(String database) {
        return database + ".pgsql";
      }

      @Override
      public void dump(dev.backstop.worker.dump.DumpTarget target, java.io.OutputStream output, Path scratch)
          throws dev.backstop.worker.dump.DumpFailedException, IOException {
        attempts++;
        String failure = failures.poll();
        if (failure != null) {
          throw new dev.backstop.worker.dump.DumpFailedException(failure);
        }
        output.write("PGDMP fake dump".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        duringDump.run(output);
      }
    };
    WorkerProperties properties = new WorkerProperties();
    properties.setWorkDirectory(dir.resolve("work"));
    properties.setAddonWait(Duration.ofMillis(100));
    properties.setRetryBackoff(Duration.ofMillis(10));
    properties.setHeartbeatInterval(Duration.ofMillis(20));
    var store = new FilesystemArchiveStore(archives);
    cipher = new dev.backstop.kit.archive.ArchiveCipher(store, java.util.Base64.getDecoder().decode(SecretSealer.newBase64Key()));
    return new BackupJob(addons, ledger, slots, store, publisher, sealer,
        Map.of(Engine.POSTGRESQL, fake),
        Map.of(Engine.POSTGRESQL, node -> dev.backstop.worker.dump.ReplicaProbe.ReplicaState.ok(Duration.ZERO)), properties, clock, cipher, new dev.backstop.kit.config.BackstopProperties());
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
    assertThat(completed.getArchiveName()).isEqualTo("20261121011000_db_pg_1.tar.zst");
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
    assertThat(completed.getArchiveKey()).endsWith(".tar.zst.tink");
    byte[] stored = Files.readAllBytes(dir.resolve("archives").resolve(completed.getArchiveKey()));
    assertThat(java.util.Arrays.copyOf(stored, 4)).as("no zstd header at rest").isNotEqualTo(ZSTD_MAGIC);
    byte[] plaintext;
    try (var in = cipher.open("pg-1", completed.getArchiveKey(), 0)) {
      plaintext = in.readAllBytes();
    }
    assertThat(java.util.Arrays.copyOf(plaintext, 4)).isEqualTo(ZSTD_MAGIC);
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

  @Test
  void a_request_redelivered_while_a_live_worker_dumps_waits_for_it_and_runs_nothing() throws Exception {
    BackupJob job = job(dir.resolve("archives"));
    assertThat(ledger.claim("b8", "worker-a", clock.instant(), clock.instant().plusSeconds(30)))
        .isInstanceOf(JobLedger.Claim.Taken.class);
    var redelivered = java.util.concurrent.CompletableFuture.runAsync(() -> {
      try {
        job.handle(request("b8"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    Thread.sleep(200);
    assertThat(redelivered).as("held back while worker-a's lease is live").isNotDone();

    BackupFailed outcome = new BackupFailed("b8", "pg-1", "app", BackupKind.MANUAL, clock.instant(), clock.instant(), null, "x");
    assertThat(ledger.settle("b8", "worker-a", JobLedger.State.FAILED, dev.backstop.schemas.serde.EventCodec.get().encode(outcome))).isTrue();
    ledger.announced("b8");
    redelivered.get(10, java.util.concurrent.TimeUnit.SECONDS);

    assertThat(attempts).isZero();
    assertThat(published).isEmpty();
  }

  @Test
  void a_job_whose_worker_stopped_heartbeating_is_taken_over_and_completes_once() throws Exception {
    ledger.claim("b9", "worker-killed", clock.instant(), clock.instant().plusSeconds(30));
    clock.advance(Duration.ofSeconds(31));

    job(dir.resolve("archives")).handle(request("b9"));

    assertThat(attempts).isEqualTo(1);
    assertThat(published).hasSize(2).last().isInstanceOf(BackupCompleted.class);
    assertThat(ledger.claim("b9", "worker-c", clock.instant().plusSeconds(3600), clock.instant().plusSeconds(3630)))
        .isEqualTo(new JobLedger.Claim.Finished(JobLedger.State.DONE));
  }

  @Test
  void an_archive_stored_by_a_worker_that_died_before_recording_its_outcome_is_replaced_not_left_behind() throws Exception {
    Instant firstStart = clock.instant();
    ledger.claim("b13", "worker-killed", firstStart, firstStart.plusSeconds(30));
    ledger.started("b13", "worker-killed", firstStart);
    clock.advance(Duration.ofSeconds(31));
    BackupJob job = job(dir.resolve("archives"));
    // what the dead worker had stored under the backup's folder: its archive, which nothing lists
    String orphan = "pg-1/b13/20261121011000_" + addons.find("pg-1").orElseThrow().database() + ".tar.zst"
        + dev.backstop.kit.archive.ArchiveCipher.SUFFIX;
    new FilesystemArchiveStore(dir.resolve("archives")).put(orphan, java.nio.file.Files.writeString(dir.resolve("orphan"), "stale"));

    job.handle(request("b13"));

    BackupCompleted completed = (BackupCompleted) published.getLast();
    assertThat(completed.getStartedAt()).isEqualTo(firstStart);
    assertThat(completed.getArchiveKey()).isEqualTo(orphan);
    try (var files = java.nio.file.Files.list(dir.resolve("archives").resolve("pg-1").resolve("b13"))) {
      assertThat(files.map(f -> f.getFileName().toString())).containsExactly(orphan.substring("pg-1/b13/".length()));
    }
    try (var in = cipher.open("pg-1", completed.getArchiveKey(), 0)) {
      assertThat(in.readAllBytes()).hasSize((int) completed.getSizeBytes());
    }
  }

  @Test
  void an_outcome_recorded_by_a_worker_that_died_before_publishing_it_is_published_and_nothing_is_dumped_again() throws Exception {
    ledger.claim("b10", "worker-killed", clock.instant(), clock.instant().plusSeconds(30));
    BackupCompleted recorded = new BackupCompleted("b10", "pg-1", "app", BackupKind.MANUAL, clock.instant(), clock.instant(),
        clock.instant(), "PRIMARY@db:5432", "starter plan", "pg-1/b10/x.tar.zst", "x.tar.zst", 10L, "00", null);
    ledger.settle("b10", "worker-killed", JobLedger.State.DONE, dev.backstop.schemas.serde.EventCodec.get().encode(recorded));
    clock.advance(Duration.ofSeconds(31));

    job(dir.resolve("archives")).handle(request("b10"));

    assertThat(attempts).isZero();
    assertThat(published).containsExactly(recorded);
  }

  @Test
  void a_running_dump_reports_its_progress_on_the_heartbeat() throws Exception {
    duringDump = output -> {
      for (int i = 0; i < 10; i++) {
        output.write(new byte[64 * 1024]);
        sleepQuietly(20);
      }
    };
    job(dir.resolve("archives")).handle(request("b11"));

    assertThat(progress).isNotEmpty().allSatisfy(event -> {
      var report = (dev.backstop.schemas.events.BackupProgress) event;
      assertThat(report.getBackupId()).isEqualTo("b11");
      assertThat(report.getDumpedBytes()).isPositive();
      assertThat(report.getAttempt()).isEqualTo(1);
    });
    assertThat(published).last().isInstanceOf(BackupCompleted.class);
  }

  @Test
  void a_worker_whose_job_was_taken_over_mid_dump_stops_and_publishes_no_outcome() throws Exception {
    duringDump = output -> {
      // this worker stalls past its lease and another one takes the job (a heartbeat landing between
      // the two steps renews the lease: then the clock moves on once more)
      JobLedger.Claim claim;
      int tries = 0;
      do {
        clock.advance(Duration.ofSeconds(31));
        claim = ledger.claim("b12", "worker-b", clock.instant(), clock.instant().plusSeconds(30));
      } while (!(claim instanceof JobLedger.Claim.Taken) && ++tries < 20);
      assertThat(claim).isInstanceOf(JobLedger.Claim.Taken.class);
      for (int i = 0; i < 100; i++) {
        output.write(new byte[1024]);
        sleepQuietly(10);
      }
    };
    job(dir.resolve("archives")).handle(request("b12"));

    assertThat(published).singleElement().isInstanceOf(BackupStarted.class);
    assertThat(dir.resolve("archives").resolve("pg-1").resolve("b12")).doesNotExist();
  }

  @Test
  void a_dump_waits_while_its_host_runs_as_many_dumps_as_allowed_and_starts_when_one_ends() throws Exception {
    Instant lease = clock.instant().plusSeconds(3600);
    // Events.addon registers the addon on 127.0.0.1; two other backups hold both of that host's slots
    assertThat(slots.acquire("127.0.0.1", 2, "other-1", clock.instant(), lease)).isPresent();
    assertThat(slots.acquire("127.0.0.1", 2, "other-2", clock.instant(), lease)).isPresent();
    BackupJob job = job(dir.resolve("archives"));
    var waiting = java.util.concurrent.CompletableFuture.runAsync(() -> {
      try {
        job.handle(request("b13"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    org.awaitility.Awaitility.await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
        .until(() -> attempts == 0 && published.isEmpty());

    slots.release("127.0.0.1#1", "other-2");
    waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(attempts).isEqualTo(1);
    assertThat(published).last().isInstanceOf(BackupCompleted.class);
    assertThat(slots.acquire("127.0.0.1", 2, "other-3", clock.instant(), lease)).as("the finished dump gave its slot back")
        .contains("127.0.0.1#1");
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A clock that stands still until the test moves it. */
  private static final class SteppedClock extends java.time.Clock {
    private volatile Instant now;

    SteppedClock(Instant start) {
      this.now = start;
    }

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }
}
