package dev.backstop.worker.verify;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.Events;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.testing.TestMongoDatabases;
import dev.backstop.worker.RecordingPublisher;
import dev.backstop.worker.backup.BackupJob;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.FakePostgresDump;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresRestoreEngine;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore tests of real backups: a real pg_dump archived, encrypted and stored by {@link BackupJob},
 * then read back and restored into the machine's PostgreSQL.
 */
class RestoreVerificationTest {

  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private final AdjustableClock clock = new AdjustableClock();
  private final RecordingPublisher publisher = new RecordingPublisher();
  private final List<SpecificRecord> published = publisher.events;
  private final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());

  @TempDir Path dir;
  private MongoDatabase database;
  private AddonCatalog addons;
  private FilesystemArchiveStore store;
  private ArchiveCipher cipher;
  private WorkerProperties worker;
  private String source;

  @BeforeEach
  void start() {
    database = mongo.fresh("worker");
    addons = new AddonCatalog(database);
    store = new FilesystemArchiveStore(dir.resolve("archives"));
    cipher = new ArchiveCipher(store, Base64.getDecoder().decode(SecretSealer.newBase64Key()));
    worker = WorkerProperties.bind(Map.of("work-directory", dir.resolve("work"), "heartbeat-interval", "50ms"));
    source = LocalPostgres.createDatabase("backstop_verify_src");
    LocalPostgres.psql(source, "create table orders (id int primary key, note text);"
        + " insert into orders select g, md5(g::text) from generate_series(1, 300) g");
    AddonSpec spec = Events.addon("pg-1", "app", Plan.STARTER, 1, "UTC");
    spec.setDatabase(source);
    spec.setUser(LocalPostgres.USER);
    spec.setNodes(List.of(new DatabaseNode(NodeRole.PRIMARY, LocalPostgres.HOST, LocalPostgres.PORT)));
    spec.setPassword(sealer.seal("pg-1", ""));
    addons.upsert(spec, 1);
  }

  @AfterEach
  void stop() {
    LocalPostgres.dropDatabase(source);
  }

  @Test
  void a_completed_backup_is_restored_and_reported_verified_once_however_often_its_completion_arrives() throws Exception {
    BackupCompleted completed = backUp("b1", new PostgresDumpEngine("pg_dump", TIMEOUT));
    RestoreVerification verification = verification(VerifierProperties.bind(Map.of()));

    handle(verification, completed);
    handle(verification, completed);

    List<BackupVerified> verified = verifications();
    assertThat(verified).hasSize(1);
    BackupVerified outcome = verified.get(0);
    assertThat(outcome.getPassed()).isTrue();
    assertThat(outcome.getTables()).isEqualTo(1);
    assertThat(outcome.getRows()).isEqualTo(300);
    assertThat(outcome.getSummary()).matches("restored 1 of 1 table, 300 rows into PostgreSQL \\d+\\.\\d+ in \\d+\\.\\d s");
    assertThat(outcome.getBackupId()).isEqualTo("b1");
    String scratch = verification.scratchDatabase("b1", 1);
    assertThat(LocalPostgres.psql("postgres", "select count(*) from pg_database where datname = '" + scratch + "'")).isEqualTo("0");
    assertThat(LocalPostgres.psql("postgres", "select count(*) from pg_roles where rolname = '" + scratch + "'")).isEqualTo("0");
  }

  @Test
  void a_scratch_server_unreachable_for_two_attempts_reports_nothing_and_the_third_attempt_after_its_backoff_passes()
      throws Exception {
    BackupCompleted completed = backUp("b7", new PostgresDumpEngine("pg_dump", TIMEOUT));
    VerifierProperties properties = VerifierProperties.bind(Map.of());
    RestoreVerification verification = verification(properties, failingFirst(2, realEngine(properties)));
    JobRunner runner = runner(verification);

    assertThat(verification.record(completed)).isTrue();
    assertThat(runner.runNext()).isTrue();
    assertThat(verifications()).isEmpty();
    clock.advance(Duration.ofSeconds(9));
    assertThat(runner.runNext()).as("9 s into the first 10 s backoff").isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(runner.runNext()).isTrue();
    assertThat(verifications()).isEmpty();
    clock.advance(Duration.ofSeconds(19));
    assertThat(runner.runNext()).as("the second backoff is twice as long").isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(runner.runNext()).isTrue();

    assertThat(verifications()).singleElement().extracting(BackupVerified::getPassed).isEqualTo(true);
    assertThat(verification.record(completed)).as("tested: a redelivered completion changes nothing").isFalse();
  }

  @Test
  void a_scratch_server_down_for_every_attempt_leaves_the_backup_not_verified_until_its_completion_is_replayed()
      throws Exception {
    BackupCompleted completed = backUp("b8", new PostgresDumpEngine("pg_dump", TIMEOUT));
    VerifierProperties properties = VerifierProperties.bind(Map.of());
    int[] calls = {0};
    RestoreVerification down = verification(properties, failingFirst(Integer.MAX_VALUE, realEngine(properties), calls));
    JobRunner runner = runner(down);

    down.record(completed);
    for (int attempt = 1; attempt <= 8; attempt++) {
      assertThat(runner.runNext()).as("attempt %d", attempt).isTrue();
      clock.advance(Duration.ofMinutes(10));
    }
    assertThat(calls[0]).isEqualTo(8);
    clock.advance(Duration.ofHours(1));
    assertThat(runner.runNext()).as("given up after the 8th attempt").isFalse();
    assertThat(verifications()).as("not reported unrestorable: the trouble was the verifier's").isEmpty();

    RestoreVerification up = verification(properties);
    assertThat(up.record(completed)).as("a replay within max-age tests it afresh").isTrue();
    assertThat(runner(up).runNext()).isTrue();
    assertThat(verifications()).singleElement().extracting(BackupVerified::getPassed).isEqualTo(true);
  }

  @Test
  void the_eight_attempts_of_an_unreachable_scratch_server_span_about_twenty_minutes() throws Exception {
    // 10 s doubling up to 10 min between them: 10+20+40+80+160+320+600 s
    BackupCompleted completed = backUp("b9", new PostgresDumpEngine("pg_dump", TIMEOUT));
    VerifierProperties properties = VerifierProperties.bind(Map.of());
    int[] calls = {0};
    RestoreVerification down = verification(properties, failingFirst(Integer.MAX_VALUE, realEngine(properties), calls));
    JobRunner runner = runner(down);
    java.time.Instant first = clock.instant();

    down.record(completed);
    while (calls[0] < 8) {
      if (!runner.runNext()) {
        clock.advance(Duration.ofSeconds(1));
      }
    }
    assertThat(Duration.between(first, clock.instant())).isBetween(Duration.ofSeconds(1230), Duration.ofSeconds(1240));
  }

  @Test
  void a_failure_reason_leaves_out_what_may_quote_the_backups_rows() {
    assertThat(RestoreVerification.withoutData("pg_restore failed (exit 1): error: COPY failed for table \"users\": ERROR: "
        + "duplicate key value violates unique constraint \"users_pkey\" DETAIL: Key (email)=(ann@example.com) already exists. "
        + "CONTEXT: COPY users, line 2"))
        .isEqualTo("pg_restore failed (exit 1): error: COPY failed for table \"users\": ERROR: duplicate key value violates "
            + "unique constraint \"users_pkey\" (details left out: they may quote the backup's data)")
        .doesNotContain("ann@example.com");
    assertThat(RestoreVerification.withoutData("mysql failed (exit 1): ERROR 1064 (42000) at line 40: You have an error in your "
        + "SQL syntax; check the manual near 'INTOO `orders` VALUES (1,'secret')' at line 1"))
        .doesNotContain("secret").endsWith("(details left out: they may quote the backup's data)");
    assertThat(RestoreVerification.withoutData("pg_restore failed (exit 1): could not read input file: end of file"))
        .isEqualTo("pg_restore failed (exit 1): could not read input file: end of file");
  }

  @Test
  void an_archive_altered_in_the_store_does_not_pass() throws Exception {
    BackupCompleted completed = backUp("b2", new PostgresDumpEngine("pg_dump", TIMEOUT));
    try (RandomAccessFile file = new RandomAccessFile(dir.resolve("archives").resolve(completed.getArchiveKey()).toFile(), "rw")) {
      file.seek(file.length() / 2);
      int b = file.read();
      file.seek(file.length() / 2);
      file.write(b ^ 0x40);
    }

    handle(verification(VerifierProperties.bind(Map.of())), completed);

    BackupVerified outcome = verifications().get(0);
    assertThat(outcome.getPassed()).isFalse();
    assertThat(outcome.getSummary()).startsWith("the archive could not be read back");
    assertThat(outcome.getTables()).isZero();
  }

  @Test
  void a_dump_the_engine_cannot_restore_does_not_pass_with_the_restore_tools_reason() throws Exception {
    DumpEngine garbage = FakePostgresDump.of(
        (target, output, scratch) -> output.write("PGDMP but not really a dump".getBytes(StandardCharsets.US_ASCII)));
    BackupCompleted completed = backUp("b3", garbage);

    handle(verification(VerifierProperties.bind(Map.of())), completed);

    BackupVerified outcome = verifications().get(0);
    assertThat(outcome.getPassed()).isFalse();
    assertThat(outcome.getSummary()).matches("the restore into PostgreSQL [0-9.]+ failed: pg_restore failed \\(exit 1\\).*");
  }

  @Test
  void a_backup_completed_longer_ago_than_the_max_age_is_not_tested_and_verification_can_be_turned_off() throws Exception {
    BackupCompleted completed = backUp("b4", new PostgresDumpEngine("pg_dump", TIMEOUT));
    VerifierProperties off = VerifierProperties.bind(Map.of("enabled", false));
    handle(verification(off), completed);

    clock.advance(Duration.ofDays(2).plusMinutes(1));
    handle(verification(VerifierProperties.bind(Map.of())), completed);

    assertThat(verifications()).isEmpty();
  }

  @Test
  void a_backup_pruned_before_its_test_is_not_reported_at_all() throws Exception {
    BackupCompleted completed = backUp("b5", new PostgresDumpEngine("pg_dump", TIMEOUT));
    store.delete(completed.getArchiveKey());
    RestoreVerification verification = verification(VerifierProperties.bind(Map.of()));

    handle(verification, completed);
    handle(verification, completed);

    assertThat(verifications()).isEmpty();
  }

  @Test
  void a_restore_stopped_by_the_worker_shutting_down_reports_nothing_and_is_given_back_to_the_next_verifier()
      throws Exception {
    BackupCompleted completed = backUp("b6", new PostgresDumpEngine("pg_dump", TIMEOUT));
    RestoreEngine stopping = new RestoreEngine() {
      @Override
      public dev.backstop.worker.engine.FailureClassifier failures() {
        return dev.backstop.worker.postgres.PostgresFailures.CLASSIFIER;
      }

      @Override
      public String serverName(Path scratch) {
        return "PostgreSQL 15";
      }

      @Override
      public Restored restore(String database, java.io.InputStream dump, Path scratch) throws DumpFailedException {
        Thread.currentThread().interrupt();
        throw new DumpFailedException("pg_restore was interrupted (worker shutting down)");
      }

      @Override
      public void drop(String database, Path scratch) {}
    };

    RestoreVerification verification = verification(VerifierProperties.bind(Map.of()), stopping);
    verification.record(completed);
    assertThat(runner(verification).runNext()).isTrue();
    assertThat(Thread.interrupted()).as("the interrupt is kept for the runner's thread").isTrue();
    assertThat(verifications()).isEmpty();

    handle(verification(VerifierProperties.bind(Map.of())), completed);
    assertThat(verifications()).singleElement().extracting(BackupVerified::getPassed).isEqualTo(true);
  }

  @Test
  void a_restore_with_none_of_the_tables_the_backup_counted_does_not_pass() throws Exception {
    String empty = LocalPostgres.createDatabase("backstop_verify_src_empty");
    try {
      // a dump of another, empty database, from a worker that counted 2 tables in the addon's: what an
      // option smuggled into the tool produced before the worker checked dumps itself
      // a dump of an empty database, while the database backed up had 2 tables when counted
      DumpEngine elsewhere = FakePostgresDump.of((target, output, scratch) -> new PostgresDumpEngine("pg_dump", TIMEOUT)
          .dump(new DumpTarget(target.host(), target.port(), empty, target.user(), target.password()), output, scratch),
          java.util.OptionalInt.of(2));
      BackupCompleted completed = backUp("b8", elsewhere);
      assertThat(completed.getExpectedTables()).isEqualTo(2);

      handle(verification(VerifierProperties.bind(Map.of())), completed);

      BackupVerified outcome = verifications().get(0);
      assertThat(outcome.getPassed()).isFalse();
      assertThat(outcome.getSummary()).isEqualTo("the restore created no table although the database had 2 tables when it was dumped");
      assertThat(outcome.getTables()).isZero();
    } finally {
      LocalPostgres.dropDatabase(empty);
    }
  }

  @Test
  void the_backup_records_the_tables_it_counted_and_the_test_reports_how_many_of_them_it_restored() throws Exception {
    LocalPostgres.psql(source, "create table lines (id int); create view recent as select * from orders");
    BackupCompleted completed = backUp("b9", new PostgresDumpEngine("pg_dump", TIMEOUT));
    assertThat(completed.getExpectedTables()).isEqualTo(2);

    handle(verification(VerifierProperties.bind(Map.of())), completed);

    assertThat(verifications().get(0).getSummary()).startsWith("restored 2 of 2 tables, 300 rows into PostgreSQL");
  }

  @Test
  void no_restore_test_runs_on_a_scratch_server_holding_other_databases_unless_allowed() throws Exception {
    BackupCompleted completed = backUp("b10", new PostgresDumpEngine("pg_dump", TIMEOUT));
    String other = LocalPostgres.createDatabase("someone_elses");
    VerifierProperties strict = VerifierProperties.bind(Map.of());
    RestoreVerification refusing = new RestoreVerification(new JobLedger(database, "verifications"), addons, new ArchiveReader(store, cipher),
        publisher, Map.of(Engine.POSTGRESQL, restoreEngine(strict)), strict, worker, clock);

    try {
      handle(refusing, completed);
    } finally {
      LocalPostgres.dropDatabase(other);
    }
    assertThat(verifications()).isEmpty();
    JobLedger tests = new JobLedger(database, "verifications");
    assertThat(tests.state("b10")).as("given up, not tested").isEqualTo(JobLedger.State.PENDING);
    assertThat(tests.claimNext("probe", clock.instant().plusSeconds(86_400), clock.instant().plusSeconds(86_430), List.of(), List.of()))
        .as("never runnable again until its completion is replayed").isEmpty();

    // allowed, the completion replayed is tested at once
    handle(verification(VerifierProperties.bind(Map.of())), completed);
    assertThat(verifications()).singleElement().extracting(BackupVerified::getPassed).isEqualTo(true);
  }

  private RestoreEngine restoreEngine(VerifierProperties properties) {
    return new PostgresRestoreEngine("psql", "pg_restore",
        new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, properties.postgresql().password()),
        TIMEOUT);
  }

  private RestoreVerification verification(VerifierProperties properties) {
    return verification(properties, realEngine(properties));
  }

  private static RestoreEngine realEngine(VerifierProperties properties) {
    return new PostgresRestoreEngine("psql", "pg_restore", new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres",
        LocalPostgres.USER, properties.postgresql().password()), TIMEOUT);
  }

  private static RestoreEngine failingFirst(int failures, RestoreEngine engine) {
    return failingFirst(failures, engine, new int[1]);
  }

  /** {@code engine}, behind a scratch server that refuses the first {@code failures} tests; {@code calls[0]} counts them. */
  private static RestoreEngine failingFirst(int failures, RestoreEngine engine, int[] calls) {
    return new RestoreEngine() {
      @Override
      public dev.backstop.worker.engine.FailureClassifier failures() {
        return dev.backstop.worker.postgres.PostgresFailures.CLASSIFIER;
      }

      @Override
      public String serverName(Path scratch) throws ScratchServerException, IOException {
        if (++calls[0] <= failures) {
          throw new ScratchServerException("connection to server at \"127.0.0.1\", port 1 failed: Connection refused");
        }
        return engine.serverName(scratch);
      }

      @Override
      public Restored restore(String database, java.io.InputStream dump, Path scratch)
          throws ScratchServerException, DumpFailedException, IOException {
        return engine.restore(database, dump, scratch);
      }

      @Override
      public void drop(String database, Path scratch) throws ScratchServerException, IOException {
        engine.drop(database, scratch);
      }
    };
  }

  /** The worker's restore-test runner, driven by the test one job at a time on its own thread. */
  private JobRunner runner(RestoreVerification verification) {
    return new JobRunner("restore-test", verification.ledger(), verification::execute, 1, worker.instanceName(),
        worker.leaseDuration(), Duration.ofMillis(10), Duration.ofSeconds(1), clock);
  }

  /** What the consumer does with a completion, then what the runner does: records it and runs every test due. */
  private void handle(RestoreVerification verification, BackupCompleted completed) {
    verification.record(completed);
    JobRunner runner = runner(verification);
    for (int i = 0; i < 10 && runner.runNext(); i++) {
      // each test due runs once; one waiting its backoff is not due
    }
  }

  private RestoreVerification verification(VerifierProperties properties, RestoreEngine engine) {
    // the machine's server holds other databases ("test", other suites' leftovers)
    VerifierProperties shared = new VerifierProperties(properties.enabled(), properties.maxAge(), properties.restoreTimeout(),
        properties.databasePrefix(), properties.postgresql(), properties.mysql(), true, properties.pgRestore(),
        properties.concurrentRestores(), properties.attempts(), properties.retryBackoff(), properties.maxRetryBackoff(),
        properties.pgRestoreJobs(), properties.spoolMinFreeSpace(), properties.restoreMaintenanceWorkMem(),
        properties.mysqlConnections());
    return new RestoreVerification(new JobLedger(database, "verifications"), addons, new ArchiveReader(store, cipher), publisher,
        Map.of(Engine.POSTGRESQL, engine), shared, worker, clock);
  }

  private BackupCompleted backUp(String id, DumpEngine engine) throws IOException {
    JobLedger jobs = new JobLedger(database);
    BackupJob job = new BackupJob(addons, jobs, new HostSlots(database), store, publisher, sealer,
        Map.of(Engine.POSTGRESQL, engine), Map.of(Engine.POSTGRESQL, node -> ReplicaProbe.ReplicaState.ok(Duration.ZERO)),
        worker, clock, cipher, BackstopProperties.bind(java.util.Map.of()));
    job.record(new BackupRequested(id, "pg-1", "app", BackupKind.MANUAL, clock.instant(), null, null, null));
    new JobRunner("backup", jobs, job::execute, 1, worker.instanceName(), worker.leaseDuration(), Duration.ofMillis(10),
        worker.retryBackoff(), clock).runNext();
    BackupCompleted completed = published.stream().filter(BackupCompleted.class::isInstance).map(BackupCompleted.class::cast)
        .filter(c -> c.getBackupId().equals(id)).findFirst().orElseThrow(() -> new AssertionError("no completion: " + published));
    assertThat(completed.getArchiveKey()).endsWith(ArchiveCipher.SUFFIX);
    return completed;
  }

  private List<BackupVerified> verifications() {
    return published.stream().filter(BackupVerified.class::isInstance).map(BackupVerified.class::cast).toList();
  }
}
