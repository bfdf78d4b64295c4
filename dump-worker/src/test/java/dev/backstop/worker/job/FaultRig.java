package dev.backstop.worker.job;

import static org.awaitility.Awaitility.await;

import dev.backstop.inprocess.InProcessKafka;
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
import dev.backstop.worker.WorkerApplication;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * What the fault tests of docs/reliability.md share: a worker as it ships against the in-process broker,
 * a dump held mid-way by a lock on its table (so that a fault meets a dump under way), and the figures
 * counted from the backup events.
 */
final class FaultRig {

  private FaultRig() {}

  static ConfigurableApplicationContext worker(InProcessKafka kafka, String mongoUri, String secretsKey, String name, Path dir,
      String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.mongodb.uri=" + mongoUri,
        "--backstop.mongodb.database=worker-" + name,
        "--backstop.archive.directory=" + dir.resolve("archives"),
        "--backstop.secrets.key=" + secretsKey,
        "--backstop.worker.instance-name=" + name + "-it",
        "--backstop.worker.work-directory=" + dir.resolve("work"),
        "--backstop.verifier.enabled=false"));
    args.addAll(List.of(extra));
    ConfigurableApplicationContext worker = WorkerApplication.builder().run(args.toArray(String[]::new));
    dev.backstop.inprocess.ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), Map.of("dump-worker", 3), Duration.ofMinutes(1));
    return worker;
  }

  static void register(InProcessKafka kafka, SecretSealer sealer, String addonId, String database, String user, String host,
      int port) {
    AddonSpec spec = new AddonSpec(addonId, addonId + "-app", Engine.POSTGRESQL, Plan.STARTER, database, user,
        sealer.seal(addonId, "unused-with-trust-auth"), List.of(new DatabaseNode(NodeRole.PRIMARY, host, port)),
        new BackupSchedule(false, 1, "UTC"));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, List.of(Events.registered(spec, Instant.now())), e -> addonId);
  }

  static void request(InProcessKafka kafka, String addonId, String backupId) {
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, List.of(new BackupRequested(backupId, addonId,
        addonId + "-app", BackupKind.MANUAL, Instant.now(), null, null, null)), e -> addonId);
  }

  static List<SpecificRecord> events(InProcessKafka kafka) {
    return Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, Duration.ofMillis(500));
  }

  /** The backup's events once it has an outcome and no late duplicate came within a few seconds. */
  static Figures outcome(InProcessKafka kafka, String backupId, Duration atMost) {
    List<SpecificRecord> events = await().atMost(atMost).pollInterval(Duration.ofSeconds(1))
        .until(() -> events(kafka), all -> new Figures(backupId, all).ended() > 0);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> events(kafka).size() == events.size());
    return new Figures(backupId, events(kafka));
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

  static void deleteTree(Path dir) throws IOException {
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
