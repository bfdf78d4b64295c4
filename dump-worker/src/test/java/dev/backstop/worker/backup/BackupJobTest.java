package dev.backstop.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.job.JobRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
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
  private final byte[] masterSecret = java.util.Base64.getDecoder().decode(SecretSealer.newBase64Key());

  /** What the fake engine answers on each attempt: null dumps, a message fails with it. */
  private final java.util.Deque<String> failures = new java.util.ArrayDeque<>();
  private volatile int attempts;
  private volatile int probed;

  /** Runs inside the fake dump after its first bytes: slow dumps, takeovers. */
  private interface DuringDump {
    void run(java.io.OutputStream output) throws IOException;
  }

  private DuringDump duringDump = output -> {};
  private Duration retryBackoff = Duration.ofMillis(10);
  private WorkerProperties properties;
  private Duration addonWait = Duration.ofMillis(100);

  private BackupJob job(Path archives) {
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String addonId, SpecificRecord event) {
        (topic.equals(dev.backstop.schemas.Topics.BACKUP_PROGRESS) ? progress : published).add(event);
      }
    };
    DumpEngine fake = dev.backstop.worker.engine.FakePostgresDump.of((target, output, scratch) -> {
      attempts++;
      String failure = failures.poll();
      if (failure != null) {
        throw new dev.backstop.worker.engine.DumpFailedException(failure);
      }
      output.write("PGDMP fake dump".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      duringDump.run(output);
    });
    properties = WorkerProperties.bind(Map.of("work-directory", dir.resolve("work"), "addon-wait", addonWait,
        "retry-backoff", retryBackoff, "heartbeat-interval", "20ms"));
    var store = new FilesystemArchiveStore(archives);
    // one master secret per test: a job made again over the same store reads the data keys the first one made
    cipher = new dev.backstop.kit.archive.ArchiveCipher(store, masterSecret);
    return new BackupJob(addons, ledger, slots, store, publisher, sealer,
        Map.of(Engine.POSTGRESQL, fake),
        Map.of(Engine.POSTGRESQL, node -> {
          probed++;
          return dev.backstop.worker.engine.ReplicaProbe.ReplicaState.ok(Duration.ZERO);
        }), properties, clock, cipher, dev.backstop.kit.config.BackstopProperties.bind(java.util.Map.of()), new BackupMetrics(meters));
  }

  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();

  private BackupRequested request(String id) {
    return new BackupRequested(id, "pg-1", "app", BackupKind.MANUAL, clock.instant(), null, null, null);
  }

  /** The worker's job runner, driven by the test one job at a time on its own thread. */
  private JobRunner runner(BackupJob job) {
    return new JobRunner("backup", ledger, job::execute, 1, properties.instanceName(), properties.leaseDuration(),
        Duration.ofMillis(10), properties.retryBackoff(), clock);
  }

  /** What the consumer does with a request, then what the runner does: records it and runs it to its end. */
  private void handle(BackupJob job, BackupRequested request) {
    job.record(request);
    drain(job, request.getBackupId());
  }

  /**
   * Runs every runnable job; while {@code id} waits in the queue (a backoff, a busy host), moves the
   * clock on as time would. Stops when it ends, or when another worker holds it.
   */
  private void drain(BackupJob job, String id) {
    JobRunner runner = runner(job);
    for (int i = 0; i < 200; i++) {
      if (!runner.runNext()) {
        if (ledger.state(id) != JobLedger.State.PENDING) {
          return;
        }
        clock.advance(Duration.ofSeconds(1));
      }
    }
    throw new AssertionError("job " + id + " still " + ledger.state(id));
  }

  /** What a worker that then dies has done: taken the request's job from the ledger. */
  private void takenBy(String worker, String id) {
    ledger.record(id, "pg-1", dev.backstop.schemas.serde.EventCodec.get().encode(request(id)), clock.instant());
    assertThat(ledger.claimNext(worker, clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()))
        .hasValueSatisfying(job -> assertThat(job.id()).isEqualTo(id));
  }

  @Test
  void a_done_and_a_failed_backup_count_by_status_engine_plan_and_kind_with_their_durations_size_and_start_delay() throws Exception {
    BackupJob job = job(dir.resolve("archives"));
    job.record(request("b-counted"));
    clock.advance(Duration.ofSeconds(42));
    drain(job, "b-counted");
    failures.add("pg_dump failed: FATAL: password authentication failed for user \"app\"");
    handle(job, request("b-refused"));

    var started = meters.get("backstop.backups").tags("status", "started", "engine", "postgresql", "plan", "starter", "kind", "manual");
    assertThat(started.counter().count()).isEqualTo(2);
    assertThat(meters.get("backstop.backups").tags("status", "done", "engine", "postgresql").counter().count()).isEqualTo(1);
    assertThat(meters.get("backstop.backups").tags("status", "failed", "plan", "starter", "kind", "manual").counter().count()).isEqualTo(1);
    assertThat(meters.get("backstop.backup.dump").tags("engine", "postgresql").timer().count()).isEqualTo(1);
    assertThat(meters.get("backstop.backup.store").tags("engine", "postgresql").timer().count()).isEqualTo(1);
    BackupCompleted completed = (BackupCompleted) published.stream().filter(BackupCompleted.class::isInstance).findFirst().orElseThrow();
    assertThat(meters.get("backstop.backup.size").summary().totalAmount()).isEqualTo(completed.getSizeBytes());
    // requested, then started 42 s later by the clock the worker reads
    assertThat(meters.get("backstop.backup.start.delay").tags("kind", "manual").timer().max(java.util.concurrent.TimeUnit.SECONDS))
        .isEqualTo(42);
  }

  @Test
  void every_line_a_job_logs_carries_its_addon_and_backup_as_json_fields_and_never_the_password() throws Exception {
    String password = "Unl1kely-pa55word-" + java.util.UUID.randomUUID();
    var spec = Events.addon("pg-1", "app", Plan.STARTER, 1, "UTC");
    spec.setPassword(sealer.seal("pg-1", password));
    addons.upsert(spec, 2);
    // one transient failure first: the retry's lines are the job's too
    failures.add("pg_dump failed: could not connect to server: Connection refused");
    var root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    lines.start();
    root.addAppender(lines);
    try {
      handle(job(dir.resolve("archives")), request("b-logged"));
    } finally {
      root.detachAppender(lines);
    }
    assertThat(published).last().isInstanceOf(BackupCompleted.class);

    // the console format of a deployment (logging.structured.format.console=ecs)
    var ecs = new dev.backstop.worker.EcsLines();
    String thread = Thread.currentThread().getName();
    List<String> jobLines = lines.list.stream().filter(line -> line.getThreadName().equals(thread))
        .filter(line -> line.getLoggerName().startsWith("dev.backstop.worker"))
        .map(ecs::encode).toList();
    assertThat(jobLines).as("the job's lines").anySatisfy(line -> assertThat(line).contains("started"))
        .anySatisfy(line -> assertThat(line).contains("attempt 1"));
    assertThat(jobLines).allSatisfy(line -> assertThat(line).contains("\"addonId\":\"pg-1\"", "\"backupId\":\"b-logged\""));
    assertThat(lines.list).allSatisfy(line -> assertThat(ecs.encode(line)).doesNotContain(password));
  }

  @Test
  void a_dump_ends_completed_once_and_a_redelivered_request_is_dropped() throws Exception {
    BackupJob job = job(dir.resolve("archives"));
    assertThat(job.record(request("b1"))).isTrue();
    assertThat(job.record(request("b1"))).as("delivered twice before it ran").isFalse();
    drain(job, "b1");
    assertThat(job.record(request("b1"))).as("replayed after it ran").isFalse();
    drain(job, "b1");

    assertThat(attempts).isEqualTo(1);
    assertThat(published).hasSize(2);
    assertThat(published.get(0)).isInstanceOf(BackupStarted.class);
    BackupCompleted completed = (BackupCompleted) published.get(1);
    assertThat(completed.getArchiveName()).isEqualTo("20261121011000_db_pg_1.tar.zst");
    assertThat(dir.resolve("archives").resolve(completed.getArchiveKey())).exists();
    var timings = completed.getTimings();
    assertThat(timings).as("the event says where the time went").isNotNull();
    assertThat(List.of(timings.getClaimedAt(), timings.getDumpStartedAt(), timings.getFirstByteAt(),
        timings.getDumpEndedAt(), timings.getStoredAt(), timings.getRecordedAt()))
        .as("phases in order, within the backup's span").doesNotContainNull().isSortedAccordingTo(Comparator.naturalOrder())
        .allSatisfy(at -> assertThat(at).isBetween(completed.getRequestedAt(), completed.getCompletedAt()));
  }

  @Test
  void a_server_restarting_is_retried_with_backoff_and_the_backup_completes_once() throws Exception {
    failures.add("pg_dump failed: connection to server at \"db\" failed: Connection refused");
    failures.add("pg_dump failed: FATAL: the database system is starting up");
    handle(job(dir.resolve("archives")), request("b5"));

    assertThat(attempts).isEqualTo(3);
    assertThat(published).hasSize(2);
    assertThat(published.get(1)).isInstanceOf(BackupCompleted.class);
  }

  @Test
  void a_wrong_password_fails_at_once_and_a_lasting_outage_fails_after_the_last_attempt() throws Exception {
    failures.add("pg_dump failed: FATAL: password authentication failed for user \"app\"");
    handle(job(dir.resolve("archives")), request("b6"));
    assertThat(attempts).isEqualTo(1);
    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).isEqualTo("pg_dump failed: FATAL: password authentication failed for user \"app\""));

    attempts = 0;
    for (int i = 0; i < 5; i++) {
      // the fake engine is a PostgreSQL one: its classifier reads libpq's words
      failures.add("pg_dump failed: connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused");
    }
    handle(job(dir.resolve("archives")), request("b7"));
    assertThat(attempts).isEqualTo(3);
    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).endsWith("Connection refused (after 3 attempts)"));
  }

  @Test
  void the_archive_is_stored_encrypted_and_its_size_and_sha256_are_those_of_the_plaintext_customers_download() throws Exception {
    handle(job(dir.resolve("archives")), request("b4"));

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
    handle(job(notADirectory), request("b2"));

    assertThat(published).last().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).startsWith("the archive could not be stored"));
  }

  @Test
  void an_unknown_addon_ends_failed_after_the_wait() throws Exception {
    handle(job(dir.resolve("archives")), new BackupRequested("b3", "nope", "app", BackupKind.MANUAL, clock.instant(), null, null, null));
    assertThat(published).singleElement().isInstanceOfSatisfying(BackupFailed.class,
        failed -> assertThat(failed.getReason()).isEqualTo("addon nope is not registered with Backstop"));
  }

  @Test
  void a_request_that_outruns_its_addons_registration_waits_in_the_queue_and_runs_once_the_addon_is_known() throws Exception {
    addonWait = Duration.ofSeconds(30);
    BackupJob job = job(dir.resolve("archives"));
    JobRunner runner = runner(job);
    job.record(new BackupRequested("b16", "pg-2", "app", BackupKind.MANUAL, clock.instant(), null, null, null));

    assertThat(runner.runNext()).as("the thread comes back at once").isTrue();
    assertThat(ledger.state("b16")).isEqualTo(JobLedger.State.PENDING);
    assertThat(published).isEmpty();

    var spec = Events.addon("pg-2", "app", Plan.STARTER, 1, "UTC");
    spec.setPassword(sealer.seal("pg-2", "pw"));
    addons.upsert(spec, 1);
    clock.advance(Duration.ofSeconds(1));
    assertThat(runner.runNext()).isTrue();
    assertThat(published).last().isInstanceOfSatisfying(BackupCompleted.class, c -> assertThat(c.getAddonId()).isEqualTo("pg-2"));
  }

  @Test
  void a_request_redelivered_while_a_live_worker_dumps_is_recorded_once_and_runs_nothing() throws Exception {
    BackupJob job = job(dir.resolve("archives"));
    takenBy("worker-a", "b8");

    assertThat(job.record(request("b8"))).as("redelivered while worker-a dumps").isFalse();
    assertThat(runner(job).runNext()).as("held by worker-a's live lease").isFalse();

    BackupFailed outcome = new BackupFailed("b8", "pg-1", "app", BackupKind.MANUAL, clock.instant(), clock.instant(), null, "x");
    assertThat(ledger.settle("b8", "worker-a", JobLedger.State.FAILED, dev.backstop.schemas.serde.EventCodec.get().encode(outcome))).isTrue();
    ledger.announced("b8");
    clock.advance(Duration.ofSeconds(31));
    assertThat(job.record(request("b8"))).isFalse();
    assertThat(runner(job).runNext()).as("finished by worker-a").isFalse();

    assertThat(attempts).isZero();
    assertThat(published).isEmpty();
  }

  @Test
  void a_transient_failure_waits_out_its_backoff_in_the_queue_while_other_jobs_run() throws Exception {
    retryBackoff = Duration.ofSeconds(30);
    BackupJob job = job(dir.resolve("archives"));
    JobRunner runner = runner(job);
    failures.add("pg_dump failed: connection to server at \"db\" failed: Connection refused");
    job.record(request("b14"));

    assertThat(runner.runNext()).isTrue();
    assertThat(attempts).isEqualTo(1);
    assertThat(ledger.state("b14")).as("given back to the queue").isEqualTo(JobLedger.State.PENDING);
    assertThat(published).singleElement().isInstanceOf(BackupStarted.class);

    job.record(request("b15"));
    assertThat(runner.runNext()).as("a job recorded later runs during the backoff").isTrue();
    assertThat(published).last().isInstanceOfSatisfying(BackupCompleted.class, c -> assertThat(c.getBackupId()).isEqualTo("b15"));

    clock.advance(Duration.ofSeconds(29));
    assertThat(runner.runNext()).as("29 s into a 30 s backoff").isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(runner.runNext()).isTrue();
    assertThat(attempts).isEqualTo(3);
    assertThat(published).last().isInstanceOfSatisfying(BackupCompleted.class, c -> assertThat(c.getBackupId()).isEqualTo("b14"));
    assertThat(published).filteredOn(BackupStarted.class::isInstance).as("one start per backup, not per attempt").hasSize(2);
  }

  @Test
  void a_job_whose_worker_stopped_heartbeating_is_taken_over_and_completes_once() throws Exception {
    takenBy("worker-killed", "b9");
    clock.advance(Duration.ofSeconds(31));

    handle(job(dir.resolve("archives")), request("b9"));

    assertThat(attempts).isEqualTo(1);
    assertThat(published).hasSize(2).last().isInstanceOf(BackupCompleted.class);
    assertThat(ledger.state("b9")).isEqualTo(JobLedger.State.DONE);
    assertThat(ledger.over("b9")).isTrue();
    assertThat(ledger.claimNext("worker-c", clock.instant().plusSeconds(3600), clock.instant().plusSeconds(3630), List.of(), List.of()))
        .as("nothing left to run, ever").isEmpty();
  }

  @Test
  void an_archive_stored_by_a_worker_that_died_before_recording_its_outcome_is_replaced_not_left_behind() throws Exception {
    Instant firstStart = clock.instant();
    takenBy("worker-killed", "b13");
    ledger.started("b13", "worker-killed", firstStart);
    clock.advance(Duration.ofSeconds(31));
    BackupJob job = job(dir.resolve("archives"));
    // what the dead worker had stored under the backup's folder: its archive, which nothing lists
    String orphan = "pg-1/b13/20261121011000_" + addons.find("pg-1").orElseThrow().database() + ".tar.zst"
        + dev.backstop.kit.archive.ArchiveCipher.SUFFIX;
    new FilesystemArchiveStore(dir.resolve("archives")).put(orphan, java.nio.file.Files.writeString(dir.resolve("orphan"), "stale"));

    handle(job, request("b13"));

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
    takenBy("worker-killed", "b10");
    BackupCompleted recorded = new BackupCompleted("b10", "pg-1", "app", BackupKind.MANUAL, clock.instant(), clock.instant(),
        clock.instant(), "PRIMARY@db:5432", "starter plan", "pg-1/b10/x.tar.zst", "x.tar.zst", 10L, "00", null, null, null, null);
    ledger.settle("b10", "worker-killed", JobLedger.State.DONE, dev.backstop.schemas.serde.EventCodec.get().encode(recorded));
    clock.advance(Duration.ofSeconds(31));

    handle(job(dir.resolve("archives")), request("b10"));

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
    handle(job(dir.resolve("archives")), request("b11"));

    // a beat that lands before the dump's first write reports 0 bytes: the job is running, nothing is dumped yet
    List<BackupProgress> reports = progress.stream().map(BackupProgress.class::cast).toList();
    assertThat(reports).isNotEmpty().allSatisfy(report -> {
      assertThat(report.getBackupId()).isEqualTo("b11");
      assertThat(report.getAttempt()).isEqualTo(1);
    });
    List<Long> dumped = reports.stream().map(BackupProgress::getDumpedBytes).toList();
    assertThat(dumped).isSorted().doesNotHaveDuplicates();
    assertThat(dumped.getLast()).isPositive();
    assertThat(published).last().isInstanceOf(BackupCompleted.class);
  }

  @Test
  void a_worker_whose_job_was_taken_over_mid_dump_stops_and_publishes_no_outcome() throws Exception {
    duringDump = output -> {
      // this worker stalls past its lease and another one takes the job (a heartbeat landing between
      // the two steps renews the lease: then the clock moves on once more)
      java.util.Optional<JobLedger.Job> claim;
      int tries = 0;
      do {
        clock.advance(Duration.ofSeconds(31));
        claim = ledger.claimNext("worker-b", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of());
      } while (claim.isEmpty() && ++tries < 20);
      assertThat(claim).hasValueSatisfying(job -> assertThat(job.takenOver()).isTrue());
      for (int i = 0; i < 100; i++) {
        output.write(new byte[1024]);
        sleepQuietly(10);
      }
    };
    handle(job(dir.resolve("archives")), request("b12"));

    assertThat(published).singleElement().isInstanceOf(BackupStarted.class);
    assertThat(dir.resolve("archives").resolve("pg-1").resolve("b12")).doesNotExist();
  }

  @Test
  void a_dump_whose_host_runs_as_many_dumps_as_allowed_waits_in_the_queue_and_starts_when_one_ends() throws Exception {
    Instant lease = clock.instant().plusSeconds(3600);
    // Events.addon registers the addon on 127.0.0.1; two other backups hold both of that host's slots
    assertThat(slots.acquire("127.0.0.1", 2, "other-1", clock.instant(), lease)).isPresent();
    assertThat(slots.acquire("127.0.0.1", 2, "other-2", clock.instant(), lease)).isPresent();
    BackupJob job = job(dir.resolve("archives"));
    JobRunner runner = runner(job);
    job.record(request("b13"));

    assertThat(runner.runNext()).as("the thread comes back at once").isTrue();
    assertThat(ledger.state("b13")).isEqualTo(JobLedger.State.PENDING);
    clock.advance(properties.hostSlotRetry());
    assertThat(runner.runNext()).as("looked again, still no slot").isTrue();
    assertThat(attempts).isZero();
    assertThat(published).isEmpty();

    slots.release("127.0.0.1#1", "other-2");
    drain(job, "b13");
    assertThat(attempts).isEqualTo(1);
    assertThat(published).last().isInstanceOf(BackupCompleted.class);
    assertThat(slots.acquire("127.0.0.1", 2, "other-3", clock.instant(), lease)).as("the finished dump gave its slot back")
        .contains("127.0.0.1#1");
  }

  @Test
  void a_business_addon_waiting_for_a_busy_host_does_not_probe_its_replicas_at_every_look() throws Exception {
    var spec = Events.addon("biz-1", "app", Plan.BUSINESS, 1, "UTC");
    spec.setPassword(sealer.seal("biz-1", "pw"));
    spec.setNodes(List.of(new dev.backstop.schemas.events.DatabaseNode(dev.backstop.schemas.events.NodeRole.PRIMARY, "db-p", 5432),
        new dev.backstop.schemas.events.DatabaseNode(dev.backstop.schemas.events.NodeRole.SECONDARY, "db-s", 5432)));
    addons.upsert(spec, 1);
    Instant lease = clock.instant().plusSeconds(3600);
    for (String host : List.of("db-p", "db-s")) {
      slots.acquire(host, 2, "other-1", clock.instant(), lease);
      slots.acquire(host, 2, "other-2", clock.instant(), lease);
    }
    BackupJob job = job(dir.resolve("archives"));
    JobRunner runner = runner(job);
    job.record(new BackupRequested("b17", "biz-1", "app", BackupKind.MANUAL, clock.instant(), null, null, null));

    for (int look = 0; look < 5; look++) {
      assertThat(runner.runNext()).isTrue();
      clock.advance(properties.hostSlotRetry());
    }
    assertThat(probed).as("no replica probed while every host is busy").isZero();
    assertThat(published).isEmpty();

    slots.release("db-s#0", "other-1");
    drain(job, "b17");
    assertThat(probed).isPositive();
    assertThat(published).last().isInstanceOfSatisfying(BackupCompleted.class,
        c -> assertThat(c.getNode()).isEqualTo("SECONDARY@db-s:5432"));
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
