package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.kit.messaging.DeadLetters;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Records no consumer can read, on every topic of a running Backstop (the real broker, the six consumer
 * groups and the gateway's group-less progress reader): each consumer puts them on its dead-letter topic
 * with the error, the source partition and offset and its group in headers, counts them, changes nothing in
 * its database, and goes on with the records after them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class PoisonRecordsIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  /** The consumer groups reading each topic (the gateway reads progress without a group). */
  private static final Map<String, List<String>> GROUPS = Map.of(
      Topics.ADDONS, List.of("gateway", "dump-worker", "retention", "scheduler", "wal-archiver"),
      Topics.BACKUP_REQUESTS, List.of("gateway", "dump-worker"),
      Topics.BACKUP_EVENTS, List.of("gateway", "restore-verifier", "retention"),
      Topics.BACKUP_PROGRESS, List.of("api-gateway"));

  private final HttpClient http = HttpClient.newHttpClient();
  private Path data;
  private MongoHandle mongo;
  private MongoClient client;
  private BackstopEmbedded backstop;

  @BeforeAll
  void start() throws Exception {
    data = Files.createTempDirectory("backstop-poison");
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    backstop = BackstopEmbedded.start(new BackstopEmbedded.Options(data, 0, 0, 0, new AdjustableClock(),
        ScratchServers.properties(), mongo.uri()));
  }

  @AfterAll
  void stop() {
    if (backstop != null) {
      backstop.close();
    }
    if (client != null) {
      client.close();
    }
    if (mongo != null) {
      mongo.close();
    }
  }

  @Test
  @org.junit.jupiter.api.Order(1)
  void undecodableRecordsGoToEachGroupsDeadLetterTopicAndTheConsumersGoOn() throws Exception {
    // a known state first: an addon every service has taken in
    assertThat(putAddon("pg-before")).isEqualTo(201);
    awaitCaughtUp();
    Map<String, Object> before = databases();

    byte[] garbage = "not an event at all".getBytes(StandardCharsets.UTF_8);
    byte[] encoded = EventCodec.get().encode(Events.registered(Events.addon("pg-cut", "poison-app", Plan.STARTER, 3, "UTC"),
        Instant.parse("2026-12-01T00:00:00Z")));
    byte[] truncated = Arrays.copyOf(encoded, encoded.length / 2);
    byte[] unknownFingerprint = encoded.clone();
    unknownFingerprint[2] ^= 0x5a;
    List<byte[]> poisons = List.of(garbage, truncated, unknownFingerprint);
    Map<String, List<RecordMetadata>> sent = new LinkedHashMap<>();
    try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", backstop.kafkaBootstrapServers()),
        new StringSerializer(), new ByteArraySerializer())) {
      for (String topic : GROUPS.keySet()) {
        for (byte[] poison : poisons) {
          sent.computeIfAbsent(topic, t -> new ArrayList<>())
              .add(producer.send(new ProducerRecord<>(topic, "pg-poison", poison)).get());
        }
      }
    }
    awaitCaughtUp();
    assertThat(databases()).as("every service's database after the poison records").isEqualTo(before);

    // each consumer group has each record on its own dead-letter topic, with where it came from and why
    for (var entry : GROUPS.entrySet()) {
      String topic = entry.getKey();
      for (String group : entry.getValue()) {
        String deadLetterTopic = DeadLetters.topicFor(topic, group, "api-gateway");
        List<ConsumerRecord<String, byte[]>> letters = await().atMost(WAIT).until(() -> readAll(deadLetterTopic),
            records -> records.size() >= poisons.size());
        assertThat(letters).as(deadLetterTopic).hasSize(poisons.size());
        for (int i = 0; i < poisons.size(); i++) {
          ConsumerRecord<String, byte[]> letter = letters.get(i);
          RecordMetadata source = sent.get(topic).get(i);
          assertThat(letter.value()).as(deadLetterTopic + " value").isEqualTo(poisons.get(i));
          assertThat(letter.key()).isEqualTo("pg-poison");
          assertThat(text(letter, "kafka_dlt-original-topic")).isEqualTo(topic);
          assertThat(ByteBuffer.wrap(header(letter, "kafka_dlt-original-partition")).getInt()).isEqualTo(source.partition());
          assertThat(ByteBuffer.wrap(header(letter, "kafka_dlt-original-offset")).getLong()).isEqualTo(source.offset());
          // the gateway's progress reader has no group of its own: the binder names one at each start
          assertThat(text(letter, "kafka_dlt-original-consumer-group")).as(deadLetterTopic + " group")
              .startsWith(group.equals("api-gateway") ? "anonymous." : group);
          assertThat(text(letter, "kafka_dlt-exception-fqcn")).endsWith("DeserializationException");
          assertThat(text(letter, "kafka_dlt-exception-message")).contains("cannot decode a record of " + topic);
        }
      }
    }

    // and every consumer goes on: a later addon reaches every service, a later backup request the gateway
    // and the worker, whose start (its database refuses connections; the test's clock stands still, so its
    // retry never comes) reaches the gateway, the verifier and retention
    assertThat(putAddon("pg-after")).isEqualTo(201);
    HttpResponse<String> manual = call("POST", "/v1/apps/poison-app/addons/pg-after/backups", null);
    assertThat(manual.statusCode()).isEqualTo(202);
    await().atMost(WAIT).until(() -> call("GET", "/v1/apps/poison-app/addons/pg-after/backups", null).body(),
        body -> body.contains("\"running\"") || body.contains("\"failed\""));
    awaitCaughtUp();
    for (String database : List.of("backstop-scheduler", "backstop-retention", "backstop-wal-archiver", "backstop-worker")) {
      assertThat(databases().get(database).toString()).as(database).contains("pg-after");
    }

    // counted, per group, on the metrics endpoint
    String metrics = call("GET", "/actuator/prometheus", null).body();
    // what an operator's Prometheus gets, kept beside the test's other output to compare docs/monitoring.md with
    Files.writeString(Path.of("target", "prometheus-scrape.txt"), metrics);
    assertThat(metrics).contains("backstop_dead_letters_total{");
    for (var entry : GROUPS.entrySet()) {
      for (String group : entry.getValue()) {
        assertThat(metrics).as(group + " on " + entry.getKey()).containsPattern("backstop_dead_letters_total\\{[^}]*"
            + "exception=\"DeserializationException\",group=\"" + group + "\",topic=\"" + entry.getKey() + "\"} 3\\.0");
      }
    }
    // and each group's lag, every service's metrics on the one port of the embedded mode
    for (String group : List.of("gateway", "dump-worker", "restore-verifier", "retention", "scheduler", "wal-archiver")) {
      assertThat(metrics).as(group + " lag").containsPattern(
          "spring_cloud_stream_binder_kafka_offset\\{[^}]*group=\"" + group + "\"[^}]*} 0\\.0");
    }
  }

  /** docs/monitoring.md's inspect and re-drive commands, as written there (DeadLetterTool's list and redrive). */
  @Test
  @org.junit.jupiter.api.Order(2)
  void anOperatorListsADeadLetterTopicAndRedrivesItsRecordsOnceToTheirTopic() throws Exception {
    String deadLetters = "error.backstop.addons.scheduler";
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    int listed = dev.backstop.kit.messaging.DeadLetterTool.run(new String[] {"list", backstop.kafkaBootstrapServers(), deadLetters},
        new java.io.PrintStream(out, true, StandardCharsets.UTF_8), new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(listed).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("from backstop.addons-", "group scheduler key pg-poison", "DeserializationException", "3 dead letter(s) on " + deadLetters);
    long endBefore = endOffset(Topics.ADDONS);

    out.reset();
    int redriven = dev.backstop.kit.messaging.DeadLetterTool.run(new String[] {"redrive", backstop.kafkaBootstrapServers(), deadLetters},
        new java.io.PrintStream(out, true, StandardCharsets.UTF_8), new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(redriven).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("3 dead letter(s) re-driven from " + deadLetters);
    assertThat(endOffset(Topics.ADDONS)).isEqualTo(endBefore + 3);

    // still undecodable: every group on the topic dead-letters them again, the re-drive named in their headers
    awaitCaughtUp();
    List<ConsumerRecord<String, byte[]>> again = await().atMost(WAIT).until(() -> readAll(deadLetters), r -> r.size() >= 6);
    assertThat(again).hasSize(6);
    assertThat(again.subList(3, 6)).allSatisfy(letter -> assertThat(text(letter, dev.backstop.kit.messaging.DeadLetterTool.REDRIVEN_FROM))
        .startsWith(deadLetters + "-"));
    assertThat(again.subList(3, 6)).extracting(ConsumerRecord::value)
        .containsExactlyElementsOf(again.subList(0, 3).stream().map(ConsumerRecord::value).toList());

    // run again: what was re-driven is remembered, only the dead letters that came since go
    out.reset();
    assertThat(dev.backstop.kit.messaging.DeadLetterTool.run(new String[] {"redrive", backstop.kafkaBootstrapServers(), deadLetters},
        new java.io.PrintStream(out, true, StandardCharsets.UTF_8), new java.io.PrintStream(err, true, StandardCharsets.UTF_8))).isZero();
    String second = out.toString(StandardCharsets.UTF_8);
    assertThat(second).contains("3 dead letter(s) re-driven from " + deadLetters);
    again.subList(3, 6).forEach(letter -> assertThat(second).contains("re-driven " + deadLetters + "-" + letter.partition() + "@" + letter.offset() + " "));
    again.subList(0, 3).forEach(letter -> assertThat(second).doesNotContain("re-driven " + deadLetters + "-" + letter.partition() + "@" + letter.offset() + " "));
  }

  /**
   * A record that decodes but that a handler fails on whatever the number of tries (here an addon whose time
   * zone does not exist, which the operator API would refuse): dead-lettered once the binding's attempts are
   * used, and the consumer goes on.
   */
  @Test
  @org.junit.jupiter.api.Order(3)
  void aRecordItsHandlerFailsOnEveryTimeIsDeadLetteredAfterItsAttemptsAndTheConsumerGoesOn() throws Exception {
    var spec = Events.addon("pg-mars", "poison-app", Plan.STARTER, 3, "Mars/Olympus_Mons");
    Events.publish(backstop.kafkaBootstrapServers(), Topics.ADDONS,
        List.of(Events.registered(spec, Instant.parse("2026-12-01T00:00:00Z"))), event -> "pg-mars");
    assertThat(putAddon("pg-after-mars")).isEqualTo(201);
    ConsumerLag.awaitCaughtUp(backstop.kafkaBootstrapServers(), List.of("scheduler"), List.of(Topics.ADDONS), WAIT);

    String deadLetters = DeadLetters.topicFor(Topics.ADDONS, "scheduler", "scheduler-service");
    ConsumerRecord<String, byte[]> letter = await().atMost(WAIT).until(() -> readAll(deadLetters).stream()
        .filter(r -> "pg-mars".equals(r.key())).toList(), found -> !found.isEmpty()).get(0);
    assertThat(text(letter, "kafka_dlt-exception-fqcn")).isEqualTo("java.time.zone.ZoneRulesException");
    assertThat(text(letter, "kafka_dlt-exception-message")).contains("Mars/Olympus_Mons");
    assertThat(text(letter, "kafka_dlt-original-consumer-group")).isEqualTo("scheduler");
    assertThat(EventCodec.get().decode(letter.value()).toString()).as("the event as it was").contains("pg-mars");

    String schedules = databases().get("backstop-scheduler").toString();
    assertThat(schedules).contains("pg-after-mars").doesNotContain("pg-mars\"");
    assertThat(call("GET", "/actuator/prometheus", null).body()).containsPattern(
        "backstop_dead_letters_total\\{[^}]*exception=\"ZoneRulesException\",group=\"scheduler\",topic=\"backstop.addons\"} 1\\.0");
  }

  private long endOffset(String topic) throws Exception {
    try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", backstop.kafkaBootstrapServers()))) {
      var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().stream()
          .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
      var ends = admin.listOffsets(partitions.stream().collect(java.util.stream.Collectors.toMap(p -> p,
          p -> org.apache.kafka.clients.admin.OffsetSpec.latest()))).all().get();
      return ends.values().stream().mapToLong(org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo::offset).sum();
    }
  }

  private void awaitCaughtUp() {
    for (var entry : GROUPS.entrySet()) {
      List<String> groups = entry.getValue().stream().filter(g -> !g.equals("api-gateway")).toList();
      if (!groups.isEmpty()) {
        ConsumerLag.awaitCaughtUp(backstop.kafkaBootstrapServers(), groups, List.of(entry.getKey()), WAIT);
      }
    }
  }

  /** Every document of every service's database, by database and collection, in _id order. */
  private Map<String, Object> databases() {
    Map<String, Object> all = new TreeMap<>();
    for (String name : client.listDatabaseNames()) {
      if (!name.startsWith("backstop-")) {
        continue;
      }
      MongoDatabase database = client.getDatabase(name);
      Map<String, List<String>> collections = new TreeMap<>();
      for (String collection : database.listCollectionNames()) {
        List<String> documents = new ArrayList<>();
        database.getCollection(collection).find().sort(new Document("_id", 1)).forEach(d -> documents.add(d.toJson()));
        collections.put(collection, documents);
      }
      all.put(name, collections);
    }
    return all;
  }

  private List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, backstop.kafkaBootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "dead-letter-reader-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
      long quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      while (System.nanoTime() < quietUntil) {
        var records = consumer.poll(Duration.ofMillis(200));
        records.forEach(all::add);
        if (!records.isEmpty()) {
          quietUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        }
      }
      // one key: one partition, in the order the consumer read them
      all.sort(java.util.Comparator.comparingLong(ConsumerRecord::offset));
      return all;
    }
  }

  private static byte[] header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    assertThat(header).as(name).isNotNull();
    return header.value();
  }

  private static String text(ConsumerRecord<?, ?> record, String name) {
    return new String(header(record, name), StandardCharsets.UTF_8);
  }

  private int putAddon(String addonId) throws Exception {
    String body = """
        {"appName": "poison-app", "engine": "postgresql", "plan": "starter", "database": "nowhere", "user": "postgres",
         "password": "secret", "nodes": [{"role": "primary", "host": "127.0.0.1", "port": 1}],
         "schedule": {"enabled": true, "hour": 3, "timezone": "UTC"}}""";
    return call("PUT", "/v1/addons/" + addonId, body).statusCode();
  }

  private HttpResponse<String> call(String method, String path, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + path))
        .header("Authorization", "Bearer " + backstop.operatorToken())
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
