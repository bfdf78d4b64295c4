package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.WorkerApplication;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.bson.Document;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * What the fault tests of docs/reliability.md share: their servers (a folder of their own, the in-process
 * broker, a store, a database whose table the dump reads, a worker as it ships), a dump held mid-way by a
 * lock on its table (so that a fault meets a dump under way), and the figures counted from the backup
 * events. Closing it stops what it started, in order, and deletes the folder.
 */
final class FaultRig implements AutoCloseable {

  /** The table each test's dump reads: big enough that {@code pg_dump} is under way when it meets the lock. */
  static final String TABLE = "CREATE TABLE t(id int primary key, v text); "
      + "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g";

  /** The database the dump reads: where, as whom, and how the test runs SQL in it. */
  record Database(String host, int port, String user, String name, Function<String, String> psql) {}

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  final Path dir;
  /** The broker; a test restarting it puts the new one here. */
  InProcessKafka kafka;
  /** The worker's store; a test restarting it puts the new one here. */
  MongoHandle mongo;
  private final String name;
  private Database database;
  private boolean ownDatabase;
  private ConfigurableApplicationContext worker;
  private final Deque<AutoCloseable> atClose = new ArrayDeque<>();

  /**
   * A rig in a new folder; nothing is started yet.
   *
   * @param name names the folder, the worker's instance and its ledger's database
   */
  FaultRig(String name) throws IOException {
    this.name = name;
    this.dir = Files.createTempDirectory("backstop-" + name);
  }

  /** Starts the broker, its log in the rig's folder (so that it can be started again on it). */
  FaultRig startKafka() {
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    return this;
  }

  /** Starts the suite's store ({@link TestMongo}). */
  FaultRig startMongo() {
    mongo = TestMongo.start();
    return this;
  }

  /** A new database of the suite's PostgreSQL holding {@link #TABLE}, dropped on close. */
  FaultRig localDatabase(String prefix) {
    String created = LocalPostgres.createDatabase(prefix);
    ownDatabase = true;
    LocalPostgres.psql(created, TABLE);
    database = new Database(LocalPostgres.HOST, LocalPostgres.PORT, LocalPostgres.USER, created,
        sql -> LocalPostgres.psql(created, sql));
    return this;
  }

  /**
   * A throwaway PostgreSQL cluster of the rig's own (stopped on close), its database {@code shop} holding
   * {@link #TABLE}, which becomes the rig's database; for the tests that stop the server or cut its host.
   */
  PostgresCluster startCluster() throws IOException {
    PostgresCluster cluster = PostgresCluster.primary(freePort());
    atClose(cluster);
    cluster.psql("postgres", "CREATE DATABASE shop");
    cluster.psql("shop", TABLE);
    database = new Database("127.0.0.1", cluster.port(), "postgres", "shop", sql -> cluster.psql("shop", sql));
    return cluster;
  }

  /** Runs SQL in the rig's database. */
  String sql(String sql) {
    return database.psql().apply(sql);
  }

  /** A database the test made (holding {@link #TABLE}) and drops itself. */
  FaultRig database(Database given) {
    database = given;
    return this;
  }

  /** Runs when the rig closes, after its servers stop and before its folder is deleted; the last added runs first. */
  void atClose(AutoCloseable step) {
    atClose.push(step);
  }

  /** Starts the worker against the broker and store, with these settings beside the rig's. */
  void startWorker(String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.mongodb.uri=" + mongo.uri(),
        "--backstop.mongodb.database=worker-" + name,
        "--backstop.archive.directory=" + dir.resolve("archives"),
        "--backstop.secrets.key=" + secretsKey,
        "--backstop.worker.instance-name=" + name + "-it",
        "--backstop.worker.work-directory=" + dir.resolve("work"),
        "--backstop.verifier.enabled=false"));
    args.addAll(List.of(extra));
    worker = WorkerApplication.builder().run(args.toArray(String[]::new));
    dev.backstop.inprocess.ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), Map.of("dump-worker", 3), Duration.ofMinutes(1));
  }

  /** Registers a PostgreSQL Starter addon of the rig's database. */
  void register(String addonId) {
    AddonSpec spec = new AddonSpec(addonId, addonId + "-app", Engine.POSTGRESQL, Plan.STARTER, database.name(),
        database.user(), sealer.seal(addonId, "unused-with-trust-auth"),
        List.of(new DatabaseNode(NodeRole.PRIMARY, database.host(), database.port())), new BackupSchedule(false, 1, "UTC"));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, List.of(Events.registered(spec, Instant.now())), e -> addonId);
  }

  void request(String addonId, String backupId) {
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, List.of(new BackupRequested(backupId, addonId,
        addonId + "-app", BackupKind.MANUAL, Instant.now(), null, null, null)), e -> addonId);
  }

  List<SpecificRecord> events() {
    return Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_EVENTS);
  }

  /** The backup's events once it has an outcome and no late duplicate came within a few seconds. */
  Figures outcome(String backupId, Duration atMost) {
    List<SpecificRecord> events = await().atMost(atMost).pollInterval(Duration.ofMillis(200))
        .until(this::events, all -> new Figures(backupId, all).ended() > 0);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> events().size() == events.size());
    return new Figures(backupId, events());
  }

  /**
   * Waits for the backup's outcome, prints the fault's figures, and asserts that the fault cost nothing:
   * one start, one completion, one archive.
   *
   * @param began {@link System#nanoTime()} when the test began, for the report
   */
  void assertCompletedOnce(String fault, String addonId, String backupId, Duration atMost, long began) throws IOException {
    Figures figures = outcome(backupId, atMost);
    List<String> archives = archives(addonId, backupId);
    System.out.printf("%s: requested 1, %s, archives %d, %d s%n", fault, figures.summary(), archives.size(),
        Duration.ofNanos(System.nanoTime() - began).toSeconds());
    figures.assertCompletedOnce(archives);
  }

  /** The archive files the filesystem store holds for one backup. */
  List<String> archives(String addonId, String backupId) throws IOException {
    return archives(dir.resolve("archives"), addonId, backupId);
  }

  /** The worker's ledger entry of a job (its {@code failures}, its {@code lastFailure}'s reason, …), or null. */
  Document job(String backupId) {
    try (var client = MongoClients.create(mongo.uri())) {
      return client.getDatabase("worker-" + name).getCollection("jobs").find(new Document("_id", backupId)).first();
    }
  }

  /**
   * Asks for a backup while a session holds the lock on the table, and returns once the backup started
   * and its dump waits for the lock: the dump is under way and cannot end until the lock is released
   * (or closed).
   */
  TableLock holdDump(String addonId, String backupId) throws IOException {
    TableLock lock = new TableLock(database.host(), database.port(), database.user(), database.name(), "t",
        dir.resolve("lock.log"), database.psql());
    try {
      request(addonId, backupId);
      await().atMost(Duration.ofSeconds(60)).until(() -> new Figures(backupId, events()).started() > 0);
      lock.awaitDumpBlocked();
      return lock;
    } catch (RuntimeException | Error e) {
      lock.close();
      throw e;
    }
  }

  @Override
  public void close() throws Exception {
    // the worker first, while what it talks to is still there
    for (AutoCloseable server : Arrays.asList(worker, kafka, mongo)) {
      if (server != null) {
        server.close();
      }
    }
    if (ownDatabase) {
      LocalPostgres.dropDatabase(database.name());
    }
    while (!atClose.isEmpty()) {
      atClose.pop().close();
    }
    deleteTree(dir);
  }

  /** One backup's events: started, completed and failed counts, and the reasons of its failures. */
  record Figures(long started, long completed, long failed, List<String> reasons) {

    Figures(String backupId, List<SpecificRecord> events) {
      this(events.stream().filter(e -> e instanceof BackupStarted s && s.getBackupId().equals(backupId)).count(),
          events.stream().filter(e -> e instanceof BackupCompleted c && c.getBackupId().equals(backupId)).count(),
          events.stream().filter(e -> e instanceof BackupFailed f && f.getBackupId().equals(backupId)).count(),
          events.stream().filter(e -> e instanceof BackupFailed f && f.getBackupId().equals(backupId))
              .map(e -> ((BackupFailed) e).getReason().toString()).toList());
    }

    long ended() {
      return completed + failed;
    }

    long lost() {
      return ended() == 0 ? 1 : 0;
    }

    long duplicated() {
      return Math.max(0, ended() - 1) + Math.max(0, started - 1);
    }

    /** The counts, for the test's report line. */
    String summary() {
      return String.format("started %d, completed %d, failed %d %s, lost %d, duplicated %d", started, completed, failed,
          reasons, lost(), duplicated());
    }

    /** The backup started once and completed once, with one archive: the fault cost nothing. */
    void assertCompletedOnce(List<String> archives) {
      assertThat(completed).as("completed").isEqualTo(1);
      assertThat(failed).as("failed").isZero();
      assertThat(started).as("started").isEqualTo(1);
      assertThat(lost()).as("lost").isZero();
      assertThat(duplicated()).as("duplicated").isZero();
      assertThat(archives).as("archives").hasSize(1);
    }
  }

  /** The archive files stored for one backup by the filesystem store (its folder; the addon's also holds its data key). */
  static List<String> archives(Path root, String addonId, String backupId) throws IOException {
    Path folder = root.resolve(addonId).resolve(backupId);
    if (!Files.exists(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(folder)) {
      return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /**
   * A psql session holding an exclusive lock on a table: {@code pg_dump} waits for it, so the dump is under way
   * and cannot end until it is released. {@code psql} runs SQL in the database and returns what it printed.
   */
  static final class TableLock implements AutoCloseable {

    private final Process process;
    private final OutputStream session;
    private final Function<String, String> psql;

    TableLock(String host, int port, String user, String database, String table, Path log, Function<String, String> psql)
        throws IOException {
      this.psql = psql;
      process = new ProcessBuilder("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", Integer.toString(port),
          "-U", user, "-d", database).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      session = process.getOutputStream();
      session.write(("BEGIN; LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE;\n").getBytes(StandardCharsets.UTF_8));
      session.flush();
      await().atMost(Duration.ofSeconds(10)).until(() -> psql.apply("SELECT count(*) FROM pg_locks l JOIN pg_class c "
          + "ON c.oid = l.relation WHERE c.relname = '" + table + "' AND l.mode = 'AccessExclusiveLock' AND l.granted").equals("1"));
    }

    /** Waits until a dump (any other session) waits for the lock. */
    void awaitDumpBlocked() {
      await().atMost(Duration.ofSeconds(30)).until(() -> psql.apply("SELECT count(*) FROM pg_stat_activity "
          + "WHERE datname = current_database() AND wait_event_type = 'Lock'").equals("1"));
    }

    void release() throws IOException, InterruptedException {
      session.write("COMMIT;\n".getBytes(StandardCharsets.UTF_8));
      session.close();
      process.waitFor();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }
}
