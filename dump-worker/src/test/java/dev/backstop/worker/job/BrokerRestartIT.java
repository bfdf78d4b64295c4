package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.WorkerApplication;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A fault of docs/reliability.md: the broker stopped while a dump runs and started again (same log, same
 * port). The dump is held mid-way by a lock on its table for as long as the broker is down, so that its
 * progress and its outcome meet the outage. The backup completes once, with one archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokerRestartIT {

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private Path dir;
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private String database;
  private ConfigurableApplicationContext worker;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("backstop-broker-restart");
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    mongo = TestMongo.start();
    database = LocalPostgres.createDatabase("backstop_restart");
    LocalPostgres.psql(database, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    worker = WorkerApplication.builder().run(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.mongodb.uri=" + mongo.uri(),
        "--backstop.mongodb.database=worker-restart",
        "--backstop.archive.directory=" + dir.resolve("archives"),
        "--backstop.secrets.key=" + secretsKey,
        "--backstop.worker.instance-name=restart-it",
        "--backstop.worker.work-directory=" + dir.resolve("work"),
        "--backstop.verifier.enabled=false");
    dev.backstop.inprocess.ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), java.util.Map.of("dump-worker", 3),
        Duration.ofMinutes(1));
  }

  @AfterAll
  void stop() throws IOException {
    if (worker != null) {
      worker.close();
    }
    kafka.close();
    mongo.close();
    LocalPostgres.dropDatabase(database);
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void a_broker_restarted_while_a_dump_runs_leaves_one_completed_backup_and_one_archive() throws Exception {
    AddonSpec spec = new AddonSpec("restart", "restart-app", Engine.POSTGRESQL, Plan.STARTER, database, LocalPostgres.USER,
        sealer.seal("restart", "unused-with-trust-auth"), List.of(new DatabaseNode(NodeRole.PRIMARY, LocalPostgres.HOST,
        LocalPostgres.PORT)), new BackupSchedule(false, 1, "UTC"));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, List.of(Events.registered(spec, Instant.now())), e -> "restart");

    // pg_dump waits for this session's lock on the table: the dump is under way and cannot end
    Process lock = new ProcessBuilder("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", LocalPostgres.HOST,
        "-p", Integer.toString(LocalPostgres.PORT), "-U", LocalPostgres.USER, "-d", database)
        .redirectErrorStream(true).redirectOutput(dir.resolve("lock.log").toFile()).start();
    OutputStream session = lock.getOutputStream();
    session.write("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n".getBytes(StandardCharsets.UTF_8));
    session.flush();
    await().atMost(Duration.ofSeconds(10)).until(() -> LocalPostgres.psql(database,
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted")
        .equals("1"));

    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS,
        List.of(new BackupRequested("restart-b", "restart", "restart-app", BackupKind.MANUAL, Instant.now(), null, null, null)), e -> "restart");
    await().atMost(Duration.ofSeconds(60)).until(() -> events().stream().anyMatch(BackupStarted.class::isInstance));
    await().atMost(Duration.ofSeconds(20)).until(() -> LocalPostgres.psql(database,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").equals("1"));

    kafka.close();
    Thread.sleep(3000);
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    session.write("COMMIT;\n".getBytes(StandardCharsets.UTF_8));
    session.close();
    lock.waitFor();

    List<SpecificRecord> events = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1))
        .until(this::events, all -> all.stream().anyMatch(e -> e instanceof BackupCompleted || e instanceof BackupFailed));
    // a late duplicate would come within the worker's lease
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> events().size() == events.size());
    long started = events.stream().filter(BackupStarted.class::isInstance).count();
    long completed = events.stream().filter(BackupCompleted.class::isInstance).count();
    long failed = events.stream().filter(BackupFailed.class::isInstance).count();
    List<String> stored;
    // the backup's own folder: the addon's folder also holds its wrapped data key
    try (Stream<Path> files = Files.walk(dir.resolve("archives").resolve("restart").resolve("restart-b"))) {
      stored = files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
    }
    long archives = stored.size();
    System.out.printf("broker restarted mid-dump: requested 1, started %d, completed %d, failed %d, lost %d, duplicated %d, "
        + "archives %d%n", started, completed, failed, 1 - completed - failed, Math.max(0, completed + failed - 1), archives);
    assertThat(completed).as("completed").isEqualTo(1);
    assertThat(failed).as("failed").isZero();
    assertThat(started).as("started").isEqualTo(1);
    assertThat(stored).as("archives").hasSize(1);
  }

  private List<SpecificRecord> events() {
    return Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, Duration.ofMillis(500));
  }
}
