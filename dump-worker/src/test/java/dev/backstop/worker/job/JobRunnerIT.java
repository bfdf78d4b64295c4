package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventDeserializer;
import dev.backstop.inprocess.ConsumerGroups;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.testing.LocalMariadb;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.WorkerApplication;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The dump worker as it runs, against a real broker, store and PostgreSQL: requests are recorded by
 * the consumer and run by the job runner, so a database that never answers holds back no other
 * addon's backup, even on the same partition, and a request delivered twice is dumped once (and its
 * completion restore-tested once, by the restore tests' own runner).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobRunnerIT {

  private static final int HEALTHY = 10;
  /** Every request on one partition, in the order published, as one busy addon's neighbours get them. */
  private static final String ONE_KEY = "one-partition";

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private final List<Received> events = new CopyOnWriteArrayList<>();
  private final List<String> databases = new ArrayList<>();
  private final List<Socket> held = new CopyOnWriteArrayList<>();
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private MongoClient client;
  private ServerSocket blackHole;
  private Thread listener;
  private volatile boolean listening = true;
  private Path dir;
  private ConfigurableApplicationContext worker;
  /** The worker reaches MongoDB through it, so that a test can take MongoDB away and give it back. */
  private MongoOutage store;

  /** An event on {@code backstop.backup-events}, when the test saw it and the trace its headers carry (or null). */
  private record Received(SpecificRecord event, Instant at, String traceparent) {}

  @BeforeAll
  void start() throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    dir = Files.createTempDirectory("backstop-runner");
    // a host that accepts connections and never says a word: pg_dump waits for its greeting until the connect timeout
    blackHole = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    Thread acceptor = new Thread(() -> {
      while (!blackHole.isClosed()) {
        try {
          held.add(blackHole.accept());
        } catch (IOException e) {
          return;
        }
      }
    }, "black-hole");
    acceptor.setDaemon(true);
    acceptor.start();
    URI mongoAddress = URI.create(mongo.uri());
    store = new MongoOutage(mongoAddress.getHost(), mongoAddress.getPort());
    worker = WorkerApplication.builder().run(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        // an operation MongoDB does not answer fails within a second, as against an unreachable server
        "--spring.mongodb.uri=mongodb://127.0.0.1:" + store.port() + "/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000",
        "--backstop.mongodb.database=worker-runner",
        "--backstop.archive.directory=" + dir.resolve("archives"),
        "--backstop.secrets.key=" + secretsKey,
        "--backstop.worker.instance-name=runner-it",
        "--backstop.worker.work-directory=" + dir.resolve("work"),
        "--backstop.worker.connect-timeout=PT2S",
        "--backstop.worker.retry-backoff=PT3S",
        // restore tests on the suite's own servers, never the machine's (the verifier's defaults)
        "--backstop.verifier.postgresql.host=" + LocalPostgres.HOST,
        "--backstop.verifier.postgresql.port=" + LocalPostgres.PORT,
        "--backstop.verifier.postgresql.user=" + LocalPostgres.USER,
        "--backstop.verifier.mysql.host=" + LocalMariadb.HOST,
        "--backstop.verifier.mysql.port=" + LocalMariadb.PORT,
        "--backstop.verifier.mysql.user=" + LocalMariadb.USER,
        // which hold the tests' own databases too
        "--backstop.verifier.allow-shared-server=true",
        "--backstop.worker.dump-attempts=3");
    ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), Map.of("dump-worker", 2), Duration.ofMinutes(1));
    listener = new Thread(this::listen, "events");
    listener.setDaemon(true);
    listener.start();
  }

  @AfterAll
  void stop() throws Exception {
    listening = false;
    if (listener != null) {
      listener.join(5000);
    }
    if (worker != null) {
      worker.close();
    }
    store.close();
    blackHole.close();
    for (Socket socket : held) {
      socket.close();
    }
    databases.forEach(LocalPostgres::dropDatabase);
    client.close();
    mongo.close();
    kafka.close();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void a_database_that_never_answers_holds_back_no_other_addons_backups_on_its_partition() {
    register("hole", blackHole.getLocalPort(), "db_hole");
    List<String> healthy = new ArrayList<>();
    for (int i = 0; i < HEALTHY; i++) {
      String database = LocalPostgres.createDatabase("backstop_runner");
      databases.add(database);
      LocalPostgres.psql(database, "CREATE TABLE t(id int primary key); INSERT INTO t SELECT generate_series(1, 10)");
      register("ok-" + i, LocalPostgres.PORT, database);
      healthy.add("ok-" + i);
    }
    awaitRegistered(HEALTHY + 1);

    // the black hole's request first, every healthy one behind it on the same partition
    Instant requestedAt = Instant.now();
    List<SpecificRecord> requests = new ArrayList<>();
    requests.add(request("hole"));
    healthy.forEach(addon -> requests.add(request(addon)));
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, requests, e -> ONE_KEY);

    await().atMost(Duration.ofSeconds(60)).until(() -> healthy.stream().allMatch(a -> outcome(a + "-b") instanceof BackupCompleted));
    for (String addon : healthy) {
      Received started = first(addon + "-b", BackupStarted.class);
      assertThat(Duration.between(requestedAt, started.at())).as("%s started", addon).isLessThan(Duration.ofSeconds(10));
    }
    Instant lastCompleted = healthy.stream().map(a -> first(a + "-b", BackupCompleted.class).at()).max(Comparator.naturalOrder())
        .orElseThrow();
    assertThat(outcome("hole-b")).as("the black hole is still being tried when the others are done").isNull();
    var jobs = client.getDatabase("worker-runner").getCollection("jobs");
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
      Document job = jobs.find(new Document("_id", "hole-b")).first();
      return job.getString("state").equals("PENDING") && job.getInteger("failures") >= 1;
    });
    assertThat(outcome("hole-b")).as("it waits its backoff in the queue, not on a thread").isNull();

    // three attempts of 2 s with 3 s and 6 s between them
    BackupFailed failed = (BackupFailed) await().atMost(Duration.ofSeconds(60)).until(() -> outcome("hole-b"), o -> o != null);
    assertThat(failed.getReason()).contains("timeout expired").endsWith("(after 3 attempts)");
    assertThat(first("hole-b", BackupFailed.class).at()).isAfter(lastCompleted);
    assertThat(events.stream().filter(r -> r.event() instanceof BackupStarted s && s.getBackupId().equals("hole-b")))
        .as("one start, however many attempts").hasSize(1);
  }

  @Test
  void a_request_delivered_twice_and_replayed_after_it_ran_is_dumped_once_with_one_outcome() throws Exception {
    registerSmallDatabase("twice");
    BackupRequested request = request("twice");

    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, List.of(request, request), e -> "twice");
    await().atMost(Duration.ofSeconds(30)).until(() -> outcome("twice-b") != null);
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, List.of(request), e -> "twice");

    await().atMost(Duration.ofSeconds(30)).until(() -> count("twice-b", BackupVerified.class) == 1);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(20)).until(() ->
        count("twice-b", BackupStarted.class) == 1 && count("twice-b", BackupCompleted.class) == 1
            && count("twice-b", BackupFailed.class) == 0 && count("twice-b", BackupVerified.class) == 1);
    assertThat(((BackupVerified) first("twice-b", BackupVerified.class).event()).getPassed())
        .as("its restore test, run once by the restore-test runner").isTrue();
    try (Stream<Path> files = Files.list(dir.resolve("archives").resolve("twice").resolve("twice-b"))) {
      assertThat(files).as("one archive").hasSize(1);
    }
  }

  @Test
  void a_backups_job_and_its_restore_test_log_and_publish_in_the_trace_of_its_request() throws Exception {
    registerSmallDatabase("traced");
    // as a scheduler or gateway in a trace publishes it: W3C trace context in the record's headers
    String traceId = UUID.randomUUID().toString().replace("-", "");
    String traceparent = "00-" + traceId + "-00f067aa0ba902b7-01";
    var root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    lines.start();
    root.addAppender(lines);
    try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<>(Map.<String, Object>of(
        "bootstrap.servers", kafka.bootstrapServers()), new org.apache.kafka.common.serialization.StringSerializer(),
        new dev.backstop.schemas.serde.EventSerializer())) {
      var record = new org.apache.kafka.clients.producer.ProducerRecord<String, SpecificRecord>(Topics.BACKUP_REQUESTS, "traced",
          request("traced"));
      record.headers().add("traceparent", traceparent.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      producer.send(record).get();
    }
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> count("traced-b", BackupVerified.class) == 1);
    } finally {
      root.detachAppender(lines);
    }

    assertThat(outcome("traced-b")).isInstanceOf(BackupCompleted.class);
    assertThat(events.stream().filter(r -> backupIdOf(r).equals("traced-b")))
        .as("its start, completion and restore test, published from the jobs").hasSizeGreaterThanOrEqualTo(3)
        .anySatisfy(r -> assertThat(r.event()).isInstanceOf(BackupStarted.class))
        .anySatisfy(r -> assertThat(r.event()).isInstanceOf(BackupVerified.class))
        .allSatisfy(r -> assertThat(r.traceparent()).as(r.event().getClass().getSimpleName()).contains(traceId));
    List<ch.qos.logback.classic.spi.ILoggingEvent> jobLines = lines.list.stream()
        .filter(line -> "traced-b".equals(line.getMDCPropertyMap().get("backupId"))).toList();
    assertThat(jobLines.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getThreadName).distinct())
        .as("lines of the backup's job and of its restore test, each on its runner's thread").hasSizeGreaterThanOrEqualTo(2);
    assertThat(jobLines).as("every line of both jobs").isNotEmpty()
        .allSatisfy(line -> assertThat(line.getMDCPropertyMap()).containsEntry("traceId", traceId).containsKey("spanId"));
    // the console format of a deployment writes it as a field
    assertThat(new dev.backstop.worker.EcsLines().encode(jobLines.get(0))).contains(traceId);
  }

  private static String backupIdOf(Received received) {
    Object id = ((GenericRecord) received.event()).getSchema().getField("backupId") == null ? null
        : ((GenericRecord) received.event()).get("backupId");
    return id == null ? "" : id.toString();
  }

  @Test
  void a_request_read_while_mongodb_is_down_is_recorded_once_it_is_back_not_skipped() throws Exception {
    registerSmallDatabase("outage");
    await().atMost(Duration.ofSeconds(30)).until(() -> uncommittedRequests() == 0);

    store.down();
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, List.of(request("outage")), e -> "outage");
    // each attempt to record it fails (the binder alone, at one attempt, would skip the request and commit it)
    await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10))
        .until(() -> uncommittedRequests() == 1 && outcome("outage-b") == null);
    assertThat(store.refused()).as("the worker kept trying MongoDB").isPositive();

    store.up();
    await().atMost(Duration.ofSeconds(60)).until(() -> outcome("outage-b") != null);
    assertThat(outcome("outage-b")).isInstanceOf(BackupCompleted.class);
    await().atMost(Duration.ofSeconds(30)).until(() -> uncommittedRequests() == 0);
  }

  /** Requests on the requests topic whose offset the worker's group has not committed yet. */
  private long uncommittedRequests() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("dump-worker")
          .partitionsToOffsetAndMetadata().get();
      long uncommitted = 0;
      for (var info : admin.describeTopics(List.of(Topics.BACKUP_REQUESTS)).allTopicNames().get().get(Topics.BACKUP_REQUESTS)
          .partitions()) {
        TopicPartition partition = new TopicPartition(Topics.BACKUP_REQUESTS, info.partition());
        long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
        OffsetAndMetadata done = committed.get(partition);
        uncommitted += end - (done == null ? 0 : done.offset());
      }
      return uncommitted;
    }
  }

  /** An addon of a new database of the suite's PostgreSQL holding 10 rows, once the worker knows it. */
  private void registerSmallDatabase(String addon) {
    String database = LocalPostgres.createDatabase("backstop_runner");
    databases.add(database);
    LocalPostgres.psql(database, "CREATE TABLE t(id int primary key); INSERT INTO t SELECT generate_series(1, 10)");
    register(addon, LocalPostgres.PORT, database);
    awaitRegistered(1, addon);
  }

  private void register(String addon, int port, String database) {
    AddonSpec spec = new AddonSpec(addon, "runner-app", dev.backstop.schemas.events.Engine.POSTGRESQL, Plan.STARTER, database,
        LocalPostgres.USER, sealer.seal(addon, "unused-with-trust-auth"),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", port)),
        new dev.backstop.schemas.events.BackupSchedule(false, 1, "UTC"));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, List.of(Events.registered(spec, Instant.now())), e -> addon);
  }

  /** The worker reads addons and requests independently: the test's requests come once it knows the addons. */
  private void awaitRegistered(int count, String... ids) {
    var addons = client.getDatabase("worker-runner").getCollection("addons");
    await().atMost(Duration.ofSeconds(30)).until(() -> ids.length == 0
        ? addons.countDocuments() >= count
        : addons.countDocuments(new Document("_id", new Document("$in", List.of(ids)))) == ids.length);
  }

  private static BackupRequested request(String addon) {
    return new BackupRequested(addon + "-b", addon, "runner-app", BackupKind.MANUAL, Instant.now(), null, null, null);
  }

  private SpecificRecord outcome(String backupId) {
    return events.stream().map(Received::event)
        .filter(e -> e instanceof BackupCompleted c && c.getBackupId().equals(backupId)
            || e instanceof BackupFailed f && f.getBackupId().equals(backupId))
        .findFirst().orElse(null);
  }

  private Received first(String backupId, Class<? extends SpecificRecord> type) {
    return events.stream().filter(r -> type.isInstance(r.event()) && backupId.equals(((GenericRecord) r.event()).get("backupId").toString()))
        .findFirst().orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " of " + backupId));
  }

  private long count(String backupId, Class<? extends SpecificRecord> type) {
    return events.stream().filter(r -> type.isInstance(r.event()) && backupId.equals(((GenericRecord) r.event()).get("backupId").toString()))
        .count();
  }

  /**
   * A TCP relay to MongoDB that the test can cut: while down it drops every open connection and
   * closes each new one at once, as a MongoDB that is restarting or unreachable does.
   */
  private static final class MongoOutage implements AutoCloseable {
    private final ServerSocket listener;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean down;

    MongoOutage(String host, int port) throws IOException {
      listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
      Thread acceptor = new Thread(() -> {
        while (!listener.isClosed()) {
          try {
            Socket client = listener.accept();
            if (down) {
              refused.incrementAndGet();
              client.close();
              continue;
            }
            Socket upstream = new Socket(host, port);
            open.add(client);
            open.add(upstream);
            pipe(client, upstream);
            pipe(upstream, client);
          } catch (IOException e) {
            // closed, or one connection failed: the client sees it closed and connects again
          }
        }
      }, "mongo-relay");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    private static void pipe(Socket from, Socket to) {
      Thread thread = new Thread(() -> {
        try {
          from.getInputStream().transferTo(to.getOutputStream());
        } catch (IOException e) {
          // the other side closed
        } finally {
          closeQuietly(from);
          closeQuietly(to);
        }
      }, "mongo-relay-pipe");
      thread.setDaemon(true);
      thread.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    void down() {
      down = true;
      open.forEach(MongoOutage::closeQuietly);
      open.clear();
    }

    void up() {
      down = false;
    }

    int refused() {
      return refused.get();
    }

    @Override
    public void close() {
      closeQuietly(listener);
      down();
    }

    private static void closeQuietly(java.io.Closeable closeable) {
      try {
        closeable.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }

  /** Collects the outcome topic as it is written, with the time each event arrived. */
  private void listen() {
    try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "runner-it-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new EventDeserializer())) {
      consumer.subscribe(List.of(Topics.BACKUP_EVENTS));
      while (listening) {
        consumer.poll(Duration.ofMillis(100)).forEach(r -> {
          var traceparent = r.headers().lastHeader("traceparent");
          events.add(new Received(r.value(), Instant.now(),
              traceparent == null ? null : new String(traceparent.value(), java.nio.charset.StandardCharsets.UTF_8)));
        });
      }
    }
  }
}
