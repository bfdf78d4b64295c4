package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.inprocess.ConsumerGroups;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two dump workers as real processes (their executable jar) in one consumer group, against a broker
 * and a store outside them: they share the requests, and when one is killed with SIGKILL in the
 * middle of a dump, the other finishes the job, once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkerCrashIT {

  private static final List<String> WORKERS = List.of("worker-a", "worker-b");
  private static final int PARTITIONS = 3;

  private final List<Process> workers = new ArrayList<>();
  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private Path dir;
  private String database;

  @BeforeAll
  void start() throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    dir = Files.createTempDirectory("backstop-workers");
    database = LocalPostgres.createDatabase("backstop_crash");
    LocalPostgres.psql(database, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    for (String name : WORKERS) {
      int port = ServiceProcesses.freePort();
      Map<String, String> env = ServiceProcesses.environment(kafka, mongo, port, dir, secretsKey);
      env.putAll(Map.of(
          "BACKSTOP_WORKER_INSTANCENAME", name,
          "BACKSTOP_WORKER_LEASEDURATION", "PT10S",
          "BACKSTOP_WORKER_HEARTBEATINTERVAL", "PT2S",
          // the group notices a dead worker after its session timeout; Kafka's default is 45 s
          "SPRING_APPLICATION_JSON", "{\"spring.cloud.stream.kafka.binder.consumerProperties\":{\"session.timeout.ms\":\"10000\"}}"));
      Process process = ServiceProcesses.launch("dump-worker", dir, name, env);
      workers.add(process);
      ServiceProcesses.awaitUp(process, port, dir, name);
    }
    // the group reads three topics: addons, requests, and the outcomes on backup-events; both workers hold some
    ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), Map.of("dump-worker", 3 * PARTITIONS), WORKERS.size(),
        Duration.ofMinutes(2));
  }

  @AfterAll
  void stop() {
    workers.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    workers.forEach(Process::destroy);
    workers.forEach(p -> p.onExit().join());
    if (kafka != null) {
      kafka.close();
    }
    if (mongo != null) {
      mongo.close();
    }
    if (database != null) {
      LocalPostgres.dropDatabase(database);
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory
    }
  }

  @Test
  @Order(1)
  void two_workers_share_the_requests_and_each_backup_is_dumped_once() {
    // one addon per partition of the requests topic, so both workers get some
    List<String> addons = addonsOnEveryPartition("share");
    addons.forEach(this::register);
    List<BackupRequested> requests = new ArrayList<>();
    for (String addon : addons) {
      for (int i = 0; i < 2; i++) {
        requests.add(new BackupRequested(addon + "-b" + i, addon, "crash-app", BackupKind.MANUAL, Instant.now(), null, null, null));
      }
    }
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, requests, e -> ((BackupRequested) e).getAddonId());

    List<SpecificRecord> events = await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
        .until(() -> Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_EVENTS),
            all -> completedIds(all, "share").size() == requests.size());

    assertThat(completed(events, "share")).hasSize(requests.size());
    Set<String> workersSeen = new HashSet<>();
    started(events, "share").forEach(s -> workersSeen.add(s.getWorker()));
    assertThat(workersSeen).containsExactlyInAnyOrderElementsOf(WORKERS);
    assertThat(started(events, "share")).hasSize(requests.size());
  }

  @Test
  @Order(2)
  void a_worker_killed_mid_dump_has_its_job_finished_by_the_other_once_and_no_partial_archive_is_left() throws Exception {
    String addon = addonsOnEveryPartition("crash").get(0);
    register(addon);
    String backupId = addon + "-killed";
    // an open transaction holding the table's lock keeps pg_dump waiting: a dump that lasts as long as the test wants
    Process lock = new ProcessBuilder("psql", "-X", "-q", "-h", LocalPostgres.HOST, "-p", Integer.toString(LocalPostgres.PORT),
        "-U", LocalPostgres.USER, "-d", database).redirectErrorStream(true).redirectOutput(dir.resolve("lock.log").toFile()).start();
    OutputStream sql = lock.getOutputStream();
    sql.write("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n".getBytes(StandardCharsets.UTF_8));
    sql.flush();
    await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(dir.resolve("lock.log")).contains("locked"));

    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS,
        List.of(new BackupRequested(backupId, addon, "crash-app", BackupKind.MANUAL, Instant.now(), null, null, null)), e -> addon);
    BackupStarted first = await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofSeconds(1))
        .until(() -> started(Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_EVENTS), backupId),
            s -> !s.isEmpty()).get(0);
    Process victim = workers.get(WORKERS.indexOf(first.getWorker()));
    await().atMost(Duration.ofSeconds(30)).until(() -> victim.descendants().anyMatch(WorkerCrashIT::isPgDump));

    // the machine goes: the worker and its pg_dump die without a word
    List<ProcessHandle> children = victim.descendants().toList();
    victim.destroyForcibly();
    children.forEach(ProcessHandle::destroyForcibly);
    victim.onExit().join();
    Instant killedAt = Instant.now();
    sql.write("COMMIT;\n\\q\n".getBytes(StandardCharsets.UTF_8));
    sql.close();
    lock.waitFor();

    List<SpecificRecord> events = await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(2))
        .until(() -> Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_EVENTS),
            all -> !completed(all, backupId).isEmpty());
    assertThat(Duration.between(killedAt, Instant.now())).isLessThan(Duration.ofMinutes(2));
    BackupCompleted done = completed(events, backupId).get(0);
    String survivor = WORKERS.get(1 - WORKERS.indexOf(first.getWorker()));
    assertThat(started(events, backupId)).extracting(BackupStarted::getWorker).containsExactly(first.getWorker(), survivor);

    // for seconds after, still exactly one completion, and the only archive is the completed one
    await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(completed(Events.readToEnd(kafka.bootstrapServers(), Topics.BACKUP_EVENTS), backupId)).singleElement().isEqualTo(done));
    try (Stream<Path> files = Files.walk(dir.resolve("archives").resolve(addon))) {
      assertThat(files.filter(Files::isRegularFile).map(p -> dir.resolve("archives").relativize(p).toString()))
          .containsExactlyInAnyOrder(done.getArchiveKey(), addon + "/data-key.json");
    }
  }

  private void register(String addon) {
    AddonSpec spec = new AddonSpec(addon, "crash-app", dev.backstop.schemas.events.Engine.POSTGRESQL, Plan.STARTER, database,
        LocalPostgres.USER, sealer.seal(addon, "unused-with-trust-auth"),
        List.of(new DatabaseNode(NodeRole.PRIMARY, LocalPostgres.HOST, LocalPostgres.PORT)),
        new dev.backstop.schemas.events.BackupSchedule(false, 1, "UTC"));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, List.of(Events.registered(spec, Instant.now())), e -> addon);
  }

  /** Addon ids whose records land on each partition of the requests topic (Kafka's default partitioner). */
  private static List<String> addonsOnEveryPartition(String prefix) {
    List<String> ids = new ArrayList<>();
    for (int p = 0, n = 0; p < PARTITIONS; n++) {
      String id = prefix + "-" + n;
      if (Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % PARTITIONS == p) {
        ids.add(id);
        p++;
      }
    }
    return ids;
  }

  private static boolean isPgDump(ProcessHandle process) {
    return process.info().command().map(c -> c.endsWith("pg_dump")).orElse(false);
  }

  private static List<BackupStarted> started(List<SpecificRecord> events, String idPrefix) {
    return events.stream().filter(BackupStarted.class::isInstance).map(BackupStarted.class::cast)
        .filter(s -> s.getBackupId().startsWith(idPrefix)).toList();
  }

  private static List<BackupCompleted> completed(List<SpecificRecord> events, String idPrefix) {
    return events.stream().filter(BackupCompleted.class::isInstance).map(BackupCompleted.class::cast)
        .filter(c -> c.getBackupId().startsWith(idPrefix)).toList();
  }

  private static Set<String> completedIds(List<SpecificRecord> events, String idPrefix) {
    Set<String> ids = new HashSet<>();
    completed(events, idPrefix).forEach(c -> ids.add(c.getBackupId()));
    return ids;
  }
}
