package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.gateway.GatewayApplication;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.retention.RetentionApplication;
import dev.backstop.scheduler.SchedulerApplication;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventSerializer;
import dev.backstop.testing.BackupHistory;
import dev.backstop.testing.CreepingClock;
import dev.backstop.testing.TestMongo;
import dev.backstop.walarchiver.WalArchiverApplication;
import dev.backstop.worker.WorkerApplication;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * docs/operations.md, run as written against a real broker and the five services as they ship, on a
 * history of 10,000 backups fed onto the topics: rebuilding every view into an empty MongoDB gives each
 * service the state it had, field by field, and repeats no side effect (nothing published, no archive
 * deleted, no dump or restore test claimed); then replaying one service from the beginning, from a
 * time, into a new database, and moving a group past a bad record.
 *
 * <p>Every service runs on a clock the test sets ({@link #clockOf}), at the history's {@code now} in the
 * live run and in every replay: what a service decides from the time (what retention keeps, which day the
 * missed-backup watchdog judges, what the restore verifier still tests, a point-in-time window) is decided
 * at the same instant in both, as it must be for "the state it had" to be a fixed answer. On the system
 * clock the runs are a minute or more apart, and a backup whose rule ends in between is kept in one and
 * pruned in the other: retention doing its job, not a replay repeating something. Waits are real time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperationsRunbookIT {

  /** Backups in the history; the figure by default, another with -Dbackstop.replay.backups=N. */
  private static final int BACKUPS = Integer.getInteger("backstop.replay.backups", 10_000);
  private static final int ADDONS = 100;
  private static final List<String> GROUPS = List.of("scheduler", "dump-worker", "restore-verifier", "retention", "gateway",
      "wal-archiver");
  private static final List<String> TOPICS = List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS);

  /** The services, each with its database and groups, as docs/operations.md's table lists them. */
  enum Service {
    GATEWAY("backstop-gateway", List.of("gateway")),
    WORKER("backstop-worker", List.of("dump-worker", "restore-verifier")),
    RETENTION("backstop-retention", List.of("retention")),
    SCHEDULER("backstop-scheduler", List.of("scheduler")),
    WAL_ARCHIVER("backstop-wal-archiver", List.of("wal-archiver"));

    final String database;
    final List<String> groups;

    Service(String database, List<String> groups) {
      this.database = database;
      this.groups = groups;
    }

    SpringApplicationBuilder builder() {
      return switch (this) {
        case GATEWAY -> GatewayApplication.builder();
        case WORKER -> WorkerApplication.builder();
        case RETENTION -> RetentionApplication.builder();
        case SCHEDULER -> SchedulerApplication.builder();
        case WAL_ARCHIVER -> WalArchiverApplication.builder();
      };
    }
  }

  /**
   * Fields, at any depth, that record when a service processed something, not what: the dump worker's jobs
   * and restore tests keep when their request was read ({@code recordedAt}), when it became runnable
   * ({@code notBefore}) and the trace their request was read in ({@code trace}: a replay reads each record
   * in a span of its own, so its ids are new even where the record carried a trace); retention keeps when it last made sure a pruned backup's archive is gone
   * ({@code purgedAt}: a replay finds each one gone, counted below). A point-in-time window's {@code at}
   * (and the gateway's {@code revision}, which is it) is when the archiver published it: an archiver rebuilt
   * from nothing publishes each addon's window again, the same in every other field.
   */
  private static final Map<String, Set<String>> PROCESSING_TIMES = Map.of(
      "backstop-worker.jobs", Set.of("recordedAt", "notBefore", "trace"),
      "backstop-worker.verifications", Set.of("recordedAt", "notBefore", "trace"),
      "backstop-retention.retention", Set.of("purgedAt"),
      "backstop-gateway.pitr_windows", Set.of("at", "revision"),
      "backstop-worker.pitr_windows", Set.of("at"),
      "backstop-wal-archiver.pitr_windows", Set.of("at", "revision"));

  private final Map<Service, ConfigurableApplicationContext> running = new EnumMap<>(Service.class);
  /** What retention's pruner says of each archive it purges: deleted, or none left to delete. */
  private final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> purges =
      new ch.qos.logback.core.read.ListAppender<>();
  private final String secretsKey = SecretSealer.newBase64Key();
  private InProcessKafka kafka;
  private MongoHandle liveMongo;
  private MongoHandle rebuiltMongo;
  private MongoClient live;
  private MongoClient rebuilt;
  private Path dir;
  private Path archives;
  private Runbook runbook;
  private Admin admin;
  /** The history ends here, and the services' clocks stand here (see {@link #clockOf}). */
  private Instant now;
  /** Each service's database as the live run left it. */
  private Map<String, Map<String, Map<String, Document>>> before;
  private Instant middleOfHistory;

  @BeforeAll
  void start() throws Exception {
    // five Spring contexts in one JVM: logback-test.xml configures logging once
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    dir = Files.createTempDirectory("backstop-runbook");
    archives = Files.createDirectories(dir.resolve("archives"));
    kafka = InProcessKafka.startTemporary();
    liveMongo = TestMongo.start();
    rebuiltMongo = TestMongo.start();
    live = MongoClients.create(liveMongo.uri());
    rebuilt = MongoClients.create(rebuiltMongo.uri());
    admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()));
    runbook = Runbook.load(Path.of("..", "docs", "operations.md"), dir);
    now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  }

  @AfterAll
  void stop() throws IOException {
    running.values().forEach(ConfigurableApplicationContext::close);
    running.clear();
    if (admin != null) {
      admin.close();
    }
    if (live != null) {
      live.close();
      rebuilt.close();
    }
    if (liveMongo != null) {
      liveMongo.close();
      rebuiltMongo.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @Order(1)
  void rebuilding_every_view_into_an_empty_mongodb_gives_each_service_its_state_back_and_repeats_no_side_effect()
      throws Exception {
    purges.start();
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.backstop.retention.pruning.Pruner")).addAppender(purges);
    long fed = feedHistory();
    int archivesFed = archiveFiles().size();
    startAll(liveMongo.uri(), Map.of());
    awaitQuiet(Duration.ofMinutes(3));
    before = snapshot(live);
    Set<String> archivesBefore = archiveFiles();
    Map<TopicPartition, Long> endsBefore = endOffsets();
    List<BackupPruned> prunes = events(Topics.BACKUP_EVENTS, BackupPruned.class);
    long prunedLive = prunes.size();
    System.out.printf("live run: %d backups fed (%d records), %d pruned by retention, %d archives left%n",
        BACKUPS, fed, prunedLive, archivesBefore.size());
    assertThat(prunedLive).as("retention pruned in the live run").isPositive();
    assertThat(prunes).as("retention's decisions, at the instant of its clock").allSatisfy(pruned ->
        assertThat(pruned.getPrunedAt()).isEqualTo(now));
    assertThat(purged("archive deleted")).as("archives deleted in the live run").isEqualTo(archivesFed - archivesBefore.size());
    synchronized (purges) {
      purges.list.clear();
    }
    assertThat(before.get(Service.WORKER.database).get("jobs")).as("the worker's jobs").isNotEmpty();
    assertThat(attempts(live, "jobs") + attempts(live, "verifications")).as("dumps and restore tests in the live run").isZero();

    stopAll();
    assertThat(runbook.run("stopped", operator()).out()).contains("Empty");
    runbook.run("rebuild-all", operator());
    for (String group : GROUPS) {
      assertThat(committed(group).values()).as("group %s after the reset", group).allMatch(offset -> offset == 0);
    }
    long started = System.nanoTime();
    startAll(rebuiltMongo.uri(), Map.of());
    awaitQuiet(Duration.ofMinutes(3));
    System.out.printf("rebuild of every view from %d records: %d ms (services started and caught up)%n", fed,
        (System.nanoTime() - started) / 1_000_000);

    Map<String, Map<String, Map<String, Document>>> after = snapshot(rebuilt);
    for (Service service : Service.values()) {
      assertThat(differences(before.get(service.database), after.get(service.database), service.database))
          .as("what %s's rebuilt database differs in", service).isEmpty();
    }
    assertThat(endOffsets()).as("records published during the replay (requests, backup events)").isEqualTo(endsBefore);
    assertThat(archiveFiles()).as("archives after the replay").isEqualTo(archivesBefore);
    assertThat(purged("archive deleted")).as("archives deleted during the replay").isZero();
    System.out.printf("replay: retention looked again for %d archives pruned before, and found none%n",
        purged("no archive left to delete"));
    assertThat(attempts(rebuilt, "jobs")).as("dumps claimed during the replay").isZero();
    assertThat(attempts(rebuilt, "verifications")).as("restore tests claimed during the replay").isZero();
    System.out.printf("replay: 0 BackupRequested/BackupStarted/BackupPruned/BackupVerified published, 0 archives deleted, "
        + "0 dumps, 0 restore tests; %d collections equal%n", after.values().stream().mapToInt(Map::size).sum());
  }

  @Test
  @Order(2)
  void replaying_retention_from_the_beginning_in_place_leaves_its_view_and_the_archives_as_they_were() throws Exception {
    Set<String> archivesBefore = archiveFiles();
    Map<TopicPartition, Long> endsBefore = endOffsets();
    stop(Service.RETENTION);
    assertThat(runbook.run("stopped", operator()).out()).contains("Empty");
    Runbook.Output dryRun = runbook.run("replay-from-start", operator());
    assertThat(dryRun.out()).contains(Topics.BACKUP_EVENTS).contains(Topics.ADDONS);
    assertThat(committed("retention").values()).allMatch(offset -> offset == 0);

    start(Service.RETENTION, rebuiltMongo.uri(), Map.of());
    awaitQuiet(Duration.ofMinutes(2));
    Runbook.Output lag = runbook.run("lag", operator());
    List<String> rows = lag.out().lines().filter(line -> line.startsWith("retention ")).toList();
    assertThat(rows).as("partitions listed").hasSize(6);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG …
    assertThat(rows).allSatisfy(row -> assertThat(row.split("\\s+")[5]).as("LAG of %s", row).isEqualTo("0"));

    assertThat(differences(before.get(Service.RETENTION.database), snapshot(rebuilt).get(Service.RETENTION.database),
        Service.RETENTION.database)).isEmpty();
    assertThat(endOffsets()).isEqualTo(endsBefore);
    assertThat(archiveFiles()).isEqualTo(archivesBefore);
  }

  @Test
  @Order(3)
  void replaying_the_gateway_from_a_time_moves_its_group_to_the_first_record_at_or_after_it() throws Exception {
    stop(Service.GATEWAY);
    String from = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneId.of("UTC"))
        .format(middleOfHistory);
    runbook.run("replay-from-time", Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(), "FROM", from));

    Map<TopicPartition, OffsetSpec> at = new HashMap<>();
    partitions(Topics.BACKUP_EVENTS).forEach(p -> at.put(p, OffsetSpec.forTimestamp(middleOfHistory.toEpochMilli())));
    Map<TopicPartition, Long> expected = new HashMap<>();
    admin.listOffsets(at).all().get().forEach((p, info) -> expected.put(p, info.offset()));
    Map<TopicPartition, Long> moved = committed("gateway").entrySet().stream()
        .filter(e -> e.getKey().topic().equals(Topics.BACKUP_EVENTS)).collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertThat(moved).isEqualTo(expected);
    Map<TopicPartition, Long> ends = endOffsets();
    assertThat(moved).as("somewhere inside the history").allSatisfy((p, offset) ->
        assertThat(offset).isPositive().isLessThan(ends.get(p)));

    start(Service.GATEWAY, rebuiltMongo.uri(), Map.of());
    awaitQuiet(Duration.ofMinutes(2));
    assertThat(differences(before.get(Service.GATEWAY.database), snapshot(rebuilt).get(Service.GATEWAY.database),
        Service.GATEWAY.database)).isEmpty();
  }

  @Test
  @Order(4)
  void rebuilding_the_scheduler_into_a_new_database_gives_the_same_schedules_and_leaves_the_old_one() throws Exception {
    Map<String, Map<String, Document>> old = snapshot(rebuilt).get(Service.SCHEDULER.database);
    stop(Service.SCHEDULER);
    runbook.run("rebuild-reset", operator());
    Map<String, String> environment = runbook.environment("rebuild-environment");
    String database = environment.get("BACKSTOP_MONGODB_DATABASE");
    assertThat(database).isNotEqualTo(Service.SCHEDULER.database);
    assertThat(rebuilt.listDatabaseNames().into(new ArrayList<>())).doesNotContain(database);

    start(Service.SCHEDULER, rebuiltMongo.uri(), environment);
    awaitQuiet(Duration.ofMinutes(2));
    assertThat(differences(before.get(Service.SCHEDULER.database), database(rebuilt, database), database)).isEmpty();
    assertThat(snapshot(rebuilt).get(Service.SCHEDULER.database)).as("the old database").isEqualTo(old);
  }

  @Test
  @Order(5)
  void a_group_moved_past_a_bad_record_reads_on_from_the_record_after_it() throws Exception {
    // the other groups would meet the bad record too: what they do with it is the dead-letter topics' matter
    stopAll();
    int partition = 1;
    long bad;
    try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
        new StringSerializer(), new ByteArraySerializer())) {
      // bytes no schema decodes, then an event after it on the same partition
      bad = producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, partition, "garbage", new byte[] {0x13, 0x37, 0, 1}))
          .get().offset();
    }
    Instant at = now;
    try (var producer = new KafkaProducer<String, SpecificRecord>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
        new StringSerializer(), new EventSerializer())) {
      producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, partition, "addon-0",
          new BackupFailed("after-the-bad-record", "addon-0", "app-0", BackupKind.MANUAL, at, at, null, "connection refused")))
          .get();
    }
    assertThat(committed("gateway").get(new TopicPartition(Topics.BACKUP_EVENTS, partition))).as("the group stands at the bad record")
        .isEqualTo(bad);

    runbook.run("skip-record", Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "PARTITION", Integer.toString(partition), "OFFSET", Long.toString(bad)));
    assertThat(committed("gateway").get(new TopicPartition(Topics.BACKUP_EVENTS, partition))).isEqualTo(bad + 1);

    start(Service.GATEWAY, rebuiltMongo.uri(), Map.of());
    awaitQuiet(Duration.ofMinutes(2));
    assertThat(rebuilt.getDatabase(Service.GATEWAY.database).getCollection("backups")
        .find(new Document("_id", "after-the-bad-record")).first()).as("the event after the bad record").isNotNull();
  }

  // ---- the history

  /** Publishes the history (see {@link BackupHistory}) and writes its archives; returns how many records. */
  private long feedHistory() {
    BackupHistory history = BackupHistory.generate(ADDONS, BACKUPS, now, archives);
    middleOfHistory = history.middle();
    return history.publish(kafka.bootstrapServers(), 3);
  }

  // ---- the services

  private Map<String, String> common(String mongoUri) {
    Map<String, String> common = new LinkedHashMap<>();
    common.put("spring.kafka.bootstrap-servers", kafka.bootstrapServers());
    common.put("spring.cloud.stream.kafka.binder.brokers", kafka.bootstrapServers());
    common.put("spring.mongodb.uri", mongoUri);
    common.put("spring.main.banner-mode", "off");
    common.put("backstop.archive.directory", archives.toString());
    common.put("backstop.secrets.key", secretsKey);
    common.put("backstop.gateway.operator-token", "operator-token-of-the-runbook-test");
    common.put("backstop.worker.work-directory", dir.resolve("work").toString());
    common.put("backstop.wal-archiver.enabled", "false");
    // the history's archives are removed as soon as retention prunes them, live and replayed alike
    common.put("backstop.retention.download-grace", "PT0S");
    common.put("backstop.retention.settle-time", "PT1S");
    // restore tests would go nowhere: none may be claimed, and a claim shows in the ledger's attempts
    common.put("backstop.verifier.postgresql.host", "127.0.0.1");
    common.put("backstop.verifier.postgresql.port", "1");
    common.put("backstop.verifier.mysql.host", "127.0.0.1");
    common.put("backstop.verifier.mysql.port", "1");
    return common;
  }

  private void startAll(String mongoUri, Map<String, String> environment) throws Exception {
    ExecutorService starter = Executors.newFixedThreadPool(2);
    try {
      Map<Service, Future<ConfigurableApplicationContext>> started = new EnumMap<>(Service.class);
      for (Service service : Service.values()) {
        started.put(service, starter.submit(() -> launch(service, mongoUri, environment)));
      }
      for (var entry : started.entrySet()) {
        running.put(entry.getKey(), entry.getValue().get(3, TimeUnit.MINUTES));
      }
    } finally {
      starter.shutdown();
    }
  }

  private void start(Service service, String mongoUri, Map<String, String> environment) {
    running.put(service, launch(service, mongoUri, environment));
  }

  /** One service as it ships; {@code environment} as variables of its process (they win over its yml, as real ones do). */
  private ConfigurableApplicationContext launch(Service service, String mongoUri, Map<String, String> environment) {
    List<String> args = new ArrayList<>();
    common(mongoUri).forEach((k, v) -> args.add("--" + k + "=" + v));
    args.add(service == Service.GATEWAY ? "--server.port=0" : "--spring.main.web-application-type=none");
    Clock clock = clockOf(service);
    return service.builder()
        .initializers(context -> context.getEnvironment().getPropertySources().addFirst(
            new SystemEnvironmentPropertySource("runbook-environment", new HashMap<>(environment))))
        // the clock every service takes its time from (service-kit's, unless one is given)
        .initializers(context -> context.getBeanFactory().registerSingleton("clock", clock))
        .run(args.toArray(String[]::new));
  }

  /**
   * The clock of a service started now: it stands at the history's {@code now}, the same in the live run
   * and in every replay. The dump worker's creeps from there at 1 ms a second of real time, so that its
   * runner's gate still opens as it does in production (a job recorded at an instant may run once
   * every outcome published before a later instant has been read) and a replay's dumps would show; that
   * puts its verifier's "completed within the last 2 days" tens of milliseconds apart between the runs,
   * not a minute. The other services get it fixed, and decide at exactly the same instant in both runs:
   * nothing in them waits here for their clock to move (retention's settle time is real time, its download
   * grace is 0; the history's schedules fall due hours later; the wal-archiver streams nothing).
   */
  private Clock clockOf(Service service) {
    return service == Service.WORKER ? new CreepingClock(now, Duration.ofMillis(1)) : Clock.fixed(now, ZoneOffset.UTC);
  }

  private void stop(Service service) {
    ConfigurableApplicationContext context = running.remove(service);
    if (context != null) {
      context.close();
    }
  }

  private void stopAll() {
    for (Service service : Service.values()) {
      stop(service);
    }
  }

  private Map<String, String> operator() {
    return Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
  }

  /**
   * Until the groups of the running services have committed every topic's end, and the backup events have
   * stopped growing (retention's deferred evaluations and what they publish come after it caught up).
   */
  private void awaitQuiet(Duration timeout) throws Exception {
    List<String> groups = running.keySet().stream().flatMap(s -> s.groups.stream()).toList();
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<TopicPartition, Long> seen = null;
    long stableSince = System.nanoTime();
    while (true) {
      Map<TopicPartition, Long> ends = endOffsets();
      boolean caughtUp = true;
      for (String group : groups) {
        Map<TopicPartition, Long> committed = committed(group);
        for (var end : ends.entrySet()) {
          if (end.getValue() > 0 && readsTopic(group, end.getKey().topic())
              && committed.getOrDefault(end.getKey(), -1L) < end.getValue()) {
            caughtUp = false;
          }
        }
      }
      if (!ends.equals(seen) || !caughtUp) {
        seen = ends;
        stableSince = System.nanoTime();
      } else if (System.nanoTime() - stableSince > Duration.ofSeconds(4).toNanos()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("groups " + groups + " did not catch up and go quiet within " + timeout);
      }
      Thread.sleep(250);
    }
  }

  private static boolean readsTopic(String group, String topic) {
    return switch (group) {
      case "scheduler" -> true; // the missed-backup watchdog reads the requests and backup events too
      case "wal-archiver" -> !topic.equals(Topics.BACKUP_REQUESTS); // the window's bases come from the backup events
      case "restore-verifier" -> topic.equals(Topics.BACKUP_EVENTS);
      case "retention" -> !topic.equals(Topics.BACKUP_REQUESTS);
      default -> true;
    };
  }

  // ---- what the broker and the stores hold

  private List<TopicPartition> partitions(String topic) throws Exception {
    return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().stream()
        .map(p -> new TopicPartition(topic, p.partition())).toList();
  }

  /** End offsets of the requests and backup events topics (and the addons'). */
  private Map<TopicPartition, Long> endOffsets() throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (String topic : TOPICS) {
      partitions(topic).forEach(p -> latest.put(p, OffsetSpec.latest()));
    }
    Map<TopicPartition, Long> ends = new TreeMap<>(Comparator.comparing(TopicPartition::toString));
    admin.listOffsets(latest).all().get().forEach((p, info) -> ends.put(p, info.offset()));
    return ends;
  }

  private Map<TopicPartition, Long> committed(String group) throws Exception {
    Map<TopicPartition, Long> offsets = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> read = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    read.forEach((p, offset) -> {
      if (offset != null) {
        offsets.put(p, offset.offset());
      }
    });
    return offsets;
  }

  private <T> List<T> events(String topic, Class<T> type) {
    return dev.backstop.testing.Events.readAll(kafka.bootstrapServers(), topic, Duration.ofSeconds(1)).stream()
        .filter(type::isInstance).map(type::cast).toList();
  }

  private long purged(String outcome) {
    synchronized (purges) {
      return purges.list.stream().filter(e -> e.getFormattedMessage().endsWith(": " + outcome)).count();
    }
  }

  private Set<String> archiveFiles() throws IOException {
    try (Stream<Path> files = Files.walk(archives)) {
      return files.filter(Files::isRegularFile).map(p -> archives.relativize(p).toString())
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  /** How many times jobs of a worker ledger were claimed, over all of them. */
  private static long attempts(MongoClient client, String collection) {
    long sum = 0;
    for (Document job : client.getDatabase(Service.WORKER.database).getCollection(collection).find()) {
      Object attempts = job.get("attempts");
      sum += attempts instanceof Number n ? n.longValue() : 0;
    }
    return sum;
  }

  /** Every service's database: collection, then document by id. */
  private static Map<String, Map<String, Map<String, Document>>> snapshot(MongoClient client) {
    Map<String, Map<String, Map<String, Document>>> all = new TreeMap<>();
    for (Service service : Service.values()) {
      all.put(service.database, database(client, service.database));
    }
    return all;
  }

  private static Map<String, Map<String, Document>> database(MongoClient client, String name) {
    Map<String, Map<String, Document>> collections = new TreeMap<>();
    for (String collection : client.getDatabase(name).listCollectionNames()) {
      Map<String, Document> documents = new TreeMap<>();
      for (Document document : client.getDatabase(name).getCollection(collection).find()) {
        documents.put(String.valueOf(document.get("_id")), document);
      }
      collections.put(collection, documents);
    }
    return collections;
  }

  /**
   * Every difference between two states of one service's database, field by field, leaving out the
   * documented times of processing; empty when equal.
   */
  private static List<String> differences(Map<String, Map<String, Document>> expected, Map<String, Map<String, Document>> actual,
      String database) {
    List<String> differences = new ArrayList<>();
    Set<String> collections = new TreeSet<>(expected.keySet());
    collections.addAll(actual.keySet());
    for (String collection : collections) {
      Set<String> ignored = PROCESSING_TIMES.getOrDefault(database.replace("-rebuilt", "") + "." + collection, Set.of());
      Map<String, Document> want = expected.getOrDefault(collection, Map.of());
      Map<String, Document> got = actual.getOrDefault(collection, Map.of());
      Set<String> ids = new TreeSet<>(want.keySet());
      ids.addAll(got.keySet());
      for (String id : ids) {
        Document a = want.get(id);
        Document b = got.get(id);
        if (a == null || b == null) {
          differences.add(collection + "/" + id + (a == null ? " only after" : " only before"));
          continue;
        }
        Set<String> fields = new TreeSet<>(a.keySet());
        fields.addAll(b.keySet());
        for (String field : fields) {
          if (!ignored.contains(field)) {
            compare(collection + "/" + id + "." + field, comparable(collection, field, a.get(field)),
                comparable(collection, field, b.get(field)), ignored, differences);
          }
        }
      }
    }
    System.out.printf("%s: %d collections, %d documents compared, %d differences%n", database, collections.size(),
        want(expected), differences.size());
    return differences.size() > 50 ? differences.subList(0, 50) : differences;
  }

  /** Compares two values, into embedded documents field by field, naming each difference by its path. */
  private static void compare(String path, Object was, Object is, Set<String> ignored, List<String> differences) {
    if (was instanceof Document before && is instanceof Document after) {
      Set<String> fields = new TreeSet<>(before.keySet());
      fields.addAll(after.keySet());
      fields.removeAll(ignored);
      fields.forEach(field -> compare(path + "." + field, before.get(field), after.get(field), ignored, differences));
    } else if (!java.util.Objects.equals(was, is)) {
      differences.add(abbreviated(path + ": before " + was + ", after " + is));
    }
  }

  /**
   * A field's value as compared: the gateway's per-addon index of backup ids ({@code backup_ids}) is a set
   * whose order is the order the events were read in, which a replay does not keep across topics.
   */
  private static Object comparable(String collection, String field, Object value) {
    if (collection.equals("backup_ids") && value instanceof List<?> ids) {
      return new TreeSet<>(ids.stream().map(String::valueOf).toList());
    }
    return value;
  }

  private static String abbreviated(String difference) {
    return difference.length() > 400 ? difference.substring(0, 400) + "…" : difference;
  }

  private static int want(Map<String, Map<String, Document>> state) {
    return state.values().stream().mapToInt(Map::size).sum();
  }
}
