package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.luben.zstd.ZstdInputStream;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.RestoreTarget;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresTargetRestore;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.PitrBaseRef;
import dev.backstop.schemas.events.PitrRequest;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.testing.TestMongo;
import dev.backstop.walarchiver.StreamTarget;
import dev.backstop.walarchiver.WalStream;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.PitrRestoreProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.job.JobRunner;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Real point-in-time restores: a throwaway primary ({@code track_commit_timestamp=on}) whose WAL the real
 * {@link WalStream} archives while a writer commits numbered rows; two bases stored as {@code
 * BaseBackupJob} stores them; restores at random instants through {@link PitrRestoreJob} on the job
 * runner, each archive then {@code pg_restore}d and compared with the rows whose commit timestamp (read
 * from the live server at the end) is at or before the target.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PitrRestoreIT {

  static final String ADDON = "pg-pitr-it";

  final List<AutoCloseable> cleanup = new ArrayList<>();
  final List<SpecificRecord> published = new CopyOnWriteArrayList<>();
  final List<BackupProgress> progress = new CopyOnWriteArrayList<>();
  PostgresCluster primary;
  FilesystemArchiveStore store;
  ArchiveCipher cipher;
  PitrWindows windows;
  AddonCatalog addons;
  JobLedger ledger;
  PitrRestoreJob job;
  JobRunner runner;
  Path work;
  Path keyFile;
  MongoHandle mongoHandle;
  final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
  PitrBaseFixture.Base first;
  PitrBaseFixture.Base second;
  Instant firstCommit;
  Instant lastCommit;

  @BeforeAll
  void archiveAWritingServer() throws Exception {
    primary = shop();

    work = Files.createTempDirectory("pitr-it");
    // the scratch server's user must reach its folder through every parent
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    cleanup.add(() -> ScratchServer.deleteTree(work));
    store = new FilesystemArchiveStore(work.resolve("store"));
    String masterBase64 = SecretSealer.newBase64Key();
    keyFile = work.resolve("master.key");
    Files.writeString(keyFile, masterBase64);
    cipher = new ArchiveCipher(store, Base64.getDecoder().decode(masterBase64));

    WalStream stream = new WalStream(new StreamTarget(ADDON, "127.0.0.1", primary.port(), "postgres", null, "Starter: the primary"),
        new ArchiveWalSegmentStore(store, cipher, work.resolve("stream")), Clock.systemUTC(), Duration.ofMillis(200),
        new WalStream.Listener() {});
    Thread streaming = Thread.ofPlatform().name("wal-stream").start(stream);
    cleanup.add(() -> { stream.stop(); streaming.join(10_000); });
    await().atMost(Duration.ofSeconds(30)).until(() -> !store.list(PitrKeys.systemsPrefix(ADDON)).isEmpty());

    first = PitrBaseFixture.take(primary.port(), ADDON, "base-1", store, cipher, work);
    Writer writer = new Writer(primary.port());
    writer.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> writer.acked.get() > 1500);
    primary.psql("postgres", "select pg_switch_wal()");
    second = PitrBaseFixture.take(primary.port(), ADDON, "base-2", store, cipher, work);
    long atSecond = writer.acked.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> writer.acked.get() > atSecond + 1500);
    writer.close();
    Lsn end = Lsn.parse(primary.psql("postgres", "select pg_current_wal_flush_lsn()"));
    await().atMost(Duration.ofSeconds(30)).until(() -> stream.durable() != null && !stream.durable().isBefore(end));
    lastCommit = Instant.parse(primary.psql("shop",
        "select to_char(max(pg_xact_commit_timestamp(xmin)) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from numbered"));
    firstCommit = Instant.parse(primary.psql("shop",
        "select to_char(min(pg_xact_commit_timestamp(xmin)) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from numbered"));

    var mongo = TestMongo.start();
    mongoHandle = mongo;
    cleanup.add(mongo);
    MongoClient client = MongoClients.create(mongo.uri());
    cleanup.add(client);
    var database = client.getDatabase("pitr-it");
    addons = new AddonCatalog(database);
    addons.upsert(new AddonSpec(ADDON, "app", Engine.POSTGRESQL, Plan.STARTER, "shop", "postgres", sealer.seal(ADDON, "unused"),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", primary.port())), new BackupSchedule(true, 1, "UTC")), 1);
    ledger = new JobLedger(database);
    windows = new PitrWindows(database);
    Instant latest = Instant.now();
    windows.apply(new PitrWindowChanged(ADDON, PitrState.STREAMING, first.endTime(), latest, null, null, null, null,
        List.of(ref(first), ref(second)), latest));
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String key, SpecificRecord event) {
        if (topic.equals(Topics.BACKUP_PROGRESS)) {
          progress.add((BackupProgress) event);
        } else {
          published.add(event);
        }
      }
    };
    WorkerProperties properties = WorkerProperties.bind(Map.of("work-directory", work.resolve("w"), "addon-wait", "0s",
        "heartbeat-interval", "200ms"));
    job = new PitrRestoreJob(addons, ledger, store, cipher, publisher, windows, properties, PitrRestoreProperties.bind(Map.of()),
        BackstopProperties.bind(Map.of()), Clock.systemUTC(), sealer, new PostgresTargetRestore("psql",
            PostgresClients.byVersion("/usr/lib/postgresql/{major}/bin", "pg_dump", "pg_restore"), Duration.ofMinutes(2),
            Duration.ofSeconds(5)),
        // the restored database dumped through stdbuf, as the worker's configuration has it
        OutputBuffer.find(properties.dumpOutputBuffer().toBytes(), System.getenv("PATH")));
    runner = new JobRunner("backup", ledger, claimed -> job.execute(claimed,
        (BackupRequested) EventCodec.get().decode(claimed.request())), 1, properties.instanceName(), Duration.ofSeconds(30),
        Duration.ofMillis(100), Duration.ofSeconds(1), Clock.systemUTC());
  }

  @AfterAll
  void cleanUp() {
    if (job != null) {
      job.close();
    }
    for (AutoCloseable c : cleanup.reversed()) {
      try {
        c.close();
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  @Test
  void restores_at_random_instants_hold_exactly_the_rows_committed_at_or_before_each() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    List<Instant> targets = new ArrayList<>();
    // two replayed from the first base across the second's time, two from the second, one after the last commit
    // (after the first commit, so that each holds some rows and misses later ones)
    Instant from = firstCommit.isAfter(first.endTime()) ? firstCommit : first.endTime();
    targets.add(between(random, from, second.endTime()));
    targets.add(between(random, from, second.endTime()));
    targets.add(between(random, second.endTime(), lastCommit));
    targets.add(between(random, second.endTime(), lastCommit));
    targets.add(lastCommit.plusMillis(300).truncatedTo(ChronoUnit.MILLIS));
    int i = 0;
    for (Instant target : targets) {
      String id = "restore-" + (++i);
      long started = System.nanoTime();
      BackupCompleted done = (BackupCompleted) restore(id, target);
      List<Long> expected = ids(primary.psql("shop", "select id from numbered where pg_xact_commit_timestamp(xmin) <= '"
          + target + "'::timestamptz order by id"));
      assertThat(done.getKind()).isEqualTo(BackupKind.PITR_RESTORE);
      assertThat(done.getPitrTargetTime()).isEqualTo(target);
      assertThat(restoredIds(done, "r" + i)).as("rows restored at %s (seed %d), %d ms", target, seed,
          (System.nanoTime() - started) / 1_000_000).isEqualTo(expected);
      assertThat(expected).isNotEmpty();
    }
    assertThat(progress).extracting(BackupProgress::getPhase).contains("fetching-base", "replaying-wal");
    assertThat(Files.list(work.resolve("w")).toList()).as("scratch folders left").isEmpty();
  }

  @Test
  void restores_follow_a_promoted_standby_onto_its_new_timeline() throws Exception {
    String addon = "pg-pitr-failover";
    PostgresCluster oldPrimary = shop();
    PostgresCluster standby = oldPrimary.replica(freePort());
    cleanup.add(standby);

    // Business: the stream and the base come from the standby
    WalStream stream = new WalStream(new StreamTarget(addon, "127.0.0.1", standby.port(), "postgres", null, "Business: the secondary"),
        new ArchiveWalSegmentStore(store, cipher, work.resolve("stream-failover")), Clock.systemUTC(), Duration.ofMillis(200),
        new WalStream.Listener() {});
    Thread streaming = Thread.ofPlatform().name("wal-stream-failover").start(stream);
    cleanup.add(() -> { stream.stop(); streaming.join(10_000); });
    await().atMost(Duration.ofSeconds(30)).until(() -> !store.list(PitrKeys.systemsPrefix(addon)).isEmpty());
    PitrBaseFixture.Base base = PitrBaseFixture.take(standby.port(), addon, "base-failover", store, cipher, work);

    Writer before = new Writer(oldPrimary.port(), 1);
    before.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> before.acked.get() > 800);
    before.close();
    long written = before.acked.get();
    await().atMost(Duration.ofSeconds(20)).until(() -> Long.parseLong(standby.psql("shop", "select count(*) from numbered")) == written);
    standby.psql("postgres", "select pg_promote()");
    oldPrimary.stop();
    Instant promotedAt = Instant.now();
    Writer after = new Writer(standby.port(), written + 1);
    after.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> stream.timeline() == 2 && after.acked.get() > written + 800);
    after.close();
    Lsn end = Lsn.parse(standby.psql("postgres", "select pg_current_wal_flush_lsn()"));
    await().atMost(Duration.ofSeconds(30)).until(() -> stream.durable() != null && !stream.durable().isBefore(end));
    Instant last = Instant.parse(standby.psql("shop",
        "select to_char(max(pg_xact_commit_timestamp(xmin)) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from numbered"));

    addons.upsert(new AddonSpec(addon, "app", Engine.POSTGRESQL, Plan.BUSINESS, "shop", "postgres", sealer.seal(addon, "unused"),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", standby.port())), new BackupSchedule(true, 1, "UTC")), 1);
    Instant latest = Instant.now();
    windows.apply(new PitrWindowChanged(addon, PitrState.STREAMING, base.endTime(), latest, null, null, null, null,
        List.of(ref(base)), latest));
    Random random = new Random();
    int i = 0;
    for (Instant target : List.of(between(random, base.endTime(), promotedAt), between(random, promotedAt, last),
        last.plusMillis(200).truncatedTo(ChronoUnit.MILLIS))) {
      String id = "failover-" + (++i);
      BackupCompleted done = (BackupCompleted) restore(id, addon, target);
      List<Long> expected = ids(standby.psql("shop", "select id from numbered where pg_xact_commit_timestamp(xmin) <= '"
          + target + "'::timestamptz order by id"));
      assertThat(restoredIds(done, addon, "f" + i)).as("rows restored at %s (promoted at %s)", target, promotedAt)
          .isEqualTo(expected);
    }
  }

  @Test
  void a_restore_whose_worker_is_killed_with_sigkill_mid_replay_completes_once_on_another() throws Exception {
    String id = "restore-killed";
    Instant target = between(new Random(), second.endTime(), lastCommit);
    BackupRequested request = new BackupRequested(id, ADDON, "app", BackupKind.PITR_RESTORE, Instant.now(), null,
        new PitrRequest(target, null), null);
    ledger.record(id, ADDON, EventCodec.get().encode(request), Instant.now());
    Path doomedWork = work.resolve("w");
    Process doomed = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), PitrRestoreProcess.class.getName(), mongoHandle.uri(), "pitr-it",
        work.resolve("store").toString(), keyFile.toString(), doomedWork.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    cleanup.add(doomed::destroyForcibly);
    // its scratch server runs: the kill lands mid-replay
    await().atMost(Duration.ofSeconds(60)).until(() -> Files.isDirectory(doomedWork) && Files.list(doomedWork)
        .anyMatch(d -> Files.exists(d.resolve("data/postmaster.pid"))));
    Path left = Files.list(doomedWork).filter(d -> Files.exists(d.resolve("data/postmaster.pid"))).findFirst().orElseThrow();
    long orphan = Long.parseLong(Files.readAllLines(left.resolve("data/postmaster.pid")).getFirst().strip());
    doomed.destroyForcibly().waitFor();
    assertThat(ProcessHandle.of(orphan)).as("the killed worker's server outlives it").isPresent();

    BackupCompleted done = (BackupCompleted) restore(id, ADDON, target, false);
    assertThat(ledger.state(id)).isEqualTo(JobLedger.State.DONE);
    assertThat(published.stream().filter(e -> e instanceof BackupCompleted c && c.getBackupId().equals(id)).count()).isEqualTo(1);
    assertThat(restoredIds(done, "k1")).isEqualTo(ids(primary.psql("shop",
        "select id from numbered where pg_xact_commit_timestamp(xmin) <= '" + target + "'::timestamptz order by id")));
    assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false)).as("the orphaned server was stopped").isFalse();
    assertThat(Files.exists(left)).as("the killed worker's scratch folder was removed").isFalse();
  }

  @Test
  void a_target_before_the_earliest_restorable_instant_is_refused_naming_the_window() throws Exception {
    BackupFailed failed = (BackupFailed) restore("restore-early", first.endTime().minusSeconds(60));
    assertThat(failed.getReason()).contains("before the earliest restorable instant").contains(first.endTime().toString());
  }

  @Test
  void a_base_backup_passes_its_restore_test_recovered_to_its_end_and_started() throws Exception {
    BackupCompleted base = new BackupCompleted(second.backupId(), ADDON, "app", BackupKind.PITR_BASE, Instant.now(), Instant.now(),
        second.endTime(), "PRIMARY", null, PitrKeys.base(ADDON, second.backupId()), "base.tar", 1L, "-", null,
        new dev.backstop.schemas.events.PitrBaseInfo(second.timeline(), second.startLsn().value(), second.stopLsn().value(),
            150000, 0L, second.endTime()), null, null);
    var verified = new BaseRestoreTest(store, cipher, PitrRestoreProperties.bind(Map.of()), work.resolve("w"), "it",
        Clock.systemUTC()).test(base, 1, "postgres", "shop");
    assertThat(verified.getPassed()).as(verified.getSummary()).isTrue();
    assertThat(verified.getTables()).isEqualTo(1);
    assertThat(Files.list(work.resolve("w")).toList()).as("scratch folders left").isEmpty();
  }

  @Test
  void an_operators_restore_goes_into_an_empty_database_and_a_used_or_hostile_target_is_refused_untouched() throws Exception {
    PostgresCluster server = PostgresCluster.primary(freePort());
    cleanup.add(server);
    server.requirePasswords();
    // what a pgpass line escapes (':' and '\\') and what it keeps as it is
    String password = "pa:ss\\wo rd#;=" + Long.toHexString(new Random().nextLong());
    server.psql("postgres", "create role restorer login password '" + password + "'");
    server.psql("postgres", "create database into_empty owner restorer");
    server.psql("postgres", "create database into_used owner restorer");
    server.psql("into_used", "create table kept(id int); insert into kept values (42)");
    Instant target = between(new Random(), second.endTime(), lastCommit);

    BackupCompleted done = (BackupCompleted) restore("into-empty", target, into(server, "127.0.0.1", "into_empty", password));
    List<Long> expected = ids(primary.psql("shop", "select id from numbered where pg_xact_commit_timestamp(xmin) <= '"
        + target + "'::timestamptz order by id"));
    assertThat(expected).isNotEmpty();
    assertThat(ids(server.psql("into_empty", "select id from numbered order by id"))).isEqualTo(expected);
    assertThat(server.psql("into_empty", "select tableowner from pg_tables where tablename = 'numbered'")).isEqualTo("restorer");
    assertThat(done.getNodeReason()).contains("pg_restored into database into_empty on 127.0.0.1:" + server.port())
        .contains("1 tables, " + expected.size() + " rows").doesNotContain(password);
    assertThat(store.exists(done.getArchiveKey())).as("the result stays a downloadable backup").isTrue();

    // refused before any replay: nothing started, the database as it was
    BackupFailed used = (BackupFailed) restore("into-used", target, into(server, "127.0.0.1", "into_used", password));
    assertThat(used.getReason()).contains("database into_used on 127.0.0.1:" + server.port() + " is not empty")
        .doesNotContain(password);
    assertThat(server.psql("into_used", "select string_agg(tablename, ',') from pg_tables where schemaname = 'public'"))
        .isEqualTo("kept");
    assertThat(server.psql("into_used", "select id from kept")).isEqualTo("42");

    BackupFailed wrong = (BackupFailed) restore("into-wrong-password", target, into(server, "127.0.0.1", "into_empty",
        "not-" + password));
    assertThat(wrong.getReason()).contains("password authentication failed").doesNotContain(password);

    // values a tool would read as options or that are no host: refused by the rules, before any tool runs
    BackupFailed dashed = (BackupFailed) restore("into-dashed", target, into(server, "127.0.0.1", "-oEvil", password));
    assertThat(dashed.getReason()).isEqualTo("the target database's settings are invalid: database must not start with '-'");
    BackupFailed spaced = (BackupFailed) restore("into-spaced", target, into(server, "127.0.0.1 evil", "into_empty", password));
    assertThat(spaced.getReason()).isEqualTo("the target database's settings are invalid: host must be a host name or an IP address");
    assertThat(published).as("nothing started for a refused target")
        .noneMatch(e -> e instanceof BackupStarted s && s.getBackupId().startsWith("into-") && !s.getBackupId().equals("into-empty"));
    assertThat(Files.list(work.resolve("w")).toList()).as("scratch folders left").isEmpty();
  }

  RestoreTarget into(PostgresCluster server, String host, String database, String password) {
    return new RestoreTarget(host, server.port(), database, "restorer", sealer.seal(ADDON, password));
  }

  SpecificRecord restore(String id, Instant target, RestoreTarget into) throws IOException {
    BackupRequested request = new BackupRequested(id, ADDON, "app", BackupKind.PITR_RESTORE, Instant.now(), null,
        new PitrRequest(target, into), null);
    ledger.record(id, ADDON, EventCodec.get().encode(request), Instant.now());
    return restore(id, ADDON, target, false);
  }

  SpecificRecord restore(String id, Instant target) throws IOException {
    return restore(id, ADDON, target);
  }

  SpecificRecord restore(String id, String addon, Instant target) throws IOException {
    return restore(id, addon, target, true);
  }

  SpecificRecord restore(String id, String addon, Instant target, boolean record) throws IOException {
    if (record) {
      BackupRequested request = new BackupRequested(id, addon, "app", BackupKind.PITR_RESTORE, Instant.now(), null,
          new PitrRequest(target, null), null);
      ledger.record(id, addon, EventCodec.get().encode(request), Instant.now());
    }
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (!ledger.over(id) && System.nanoTime() < deadline) {
      if (!runner.runNext()) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return published.stream().filter(e -> (e instanceof BackupCompleted c && c.getBackupId().equals(id))
        || (e instanceof BackupFailed f && f.getBackupId().equals(id))).findFirst()
        .orElseThrow(() -> new AssertionError(id + " has no outcome; ledger: " + ledger.state(id)));
  }

  /** Decrypts the archive, takes its dump out and restores it into a new database of the live server. */
  List<Long> restoredIds(BackupCompleted done, String database) throws Exception {
    return restoredIds(done, ADDON, database);
  }

  List<Long> restoredIds(BackupCompleted done, String addon, String database) throws Exception {
    Path dump = work.resolve(database + ".pgsql");
    try (InputStream in = new TarArchiveInputStream(new ZstdInputStream(cipher.open(addon, done.getArchiveKey(), 0)))) {
      TarArchiveInputStream tar = (TarArchiveInputStream) in;
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        if (entry.getName().endsWith(".pgsql")) {
          Files.copy(tar, dump);
        }
      }
    }
    primary.psql("postgres", "create database " + database);
    Process restore = new ProcessBuilder(List.of("pg_restore", "--no-owner", "--exit-on-error", "-h", "127.0.0.1", "-p",
        Integer.toString(primary.port()), "-U", "postgres", "-d", database, dump.toString())).redirectErrorStream(true).start();
    String out = new String(restore.getInputStream().readAllBytes());
    assertThat(restore.waitFor()).as("pg_restore: %s", out).isZero();
    Files.delete(dump);
    return ids(primary.psql(database, "select id from numbered order by id"));
  }

  static List<Long> ids(String lines) {
    return lines.isBlank() ? List.of() : Arrays.stream(lines.split("\n")).map(String::strip).map(Long::parseLong).toList();
  }

  static Instant between(Random random, Instant from, Instant to) {
    long span = Duration.between(from, to).toMillis();
    return from.plusMillis(1 + (long) (random.nextDouble() * Math.max(1, span - 2))).truncatedTo(ChronoUnit.MILLIS);
  }

  /** A new primary recording commit timestamps (the rows' truth), with the table the writers fill. */
  PostgresCluster shop() throws IOException {
    PostgresCluster cluster = PostgresCluster.primary(freePort());
    cleanup.add(cluster);
    cluster.psql("postgres", "alter system set track_commit_timestamp = on");
    cluster.stop();
    cluster.start();
    cluster.psql("postgres", "create database shop");
    cluster.psql("shop", "create table numbered(id bigint primary key, note text)");
    return cluster;
  }

  static PitrBaseRef ref(PitrBaseFixture.Base base) {
    return new PitrBaseRef(base.backupId(), base.endTime(), base.timeline(), base.startLsn().value(), base.stopLsn().value());
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Commits rows 1, 2, 3, … one per transaction, a little apart so that targets fall between commits. */
  static final class Writer implements AutoCloseable {
    final AtomicLong acked;
    final AtomicBoolean done = new AtomicBoolean();
    final int port;
    volatile SQLException failure;
    Thread thread;

    Writer(int port) {
      this(port, 1);
    }

    /** Commits {@code first}, {@code first + 1}, …; {@link #acked} is the last one acknowledged. */
    Writer(int port, long first) {
      this.port = port;
      this.acked = new AtomicLong(first - 1);
    }

    void start() {
      thread = Thread.ofPlatform().name("writer").start(() -> {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/shop", "postgres", "");
            PreparedStatement insert = c.prepareStatement("insert into numbered(id, note) values (?, md5(?::text))")) {
          while (!done.get()) {
            long next = acked.get() + 1;
            insert.setLong(1, next);
            insert.setLong(2, next);
            insert.executeUpdate();
            acked.set(next);
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
          }
        } catch (SQLException e) {
          failure = e;
        }
      });
    }

    @Override
    public void close() throws InterruptedException {
      done.set(true);
      thread.join(10_000);
      assertThat((Object) failure).isNull();
    }
  }
}
