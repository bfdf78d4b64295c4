package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.backstop.scheduler.schedule.ScheduledBackupId;
import dev.backstop.schemas.Topics;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.LocalPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The walking skeleton, end to end on real parts: the in-process KRaft broker, the MongoDB-wire store,
 * the four services, the machine's PostgreSQL with the real pg_dump and pg_restore, and the gateway's
 * HTTP API as a client sees it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackstopEndToEndIT {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private final String password = "e2e-" + UUID.randomUUID();
  private final AdjustableClock clock = new AdjustableClock();
  private final JsonMapper json = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newHttpClient();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final List<String> databases = new ArrayList<>();

  private Path data;
  private BackstopEmbedded backstop;
  private String myAppToken;
  private dev.backstop.inprocess.MongoHandle mongo;
  private String database;

  @BeforeAll
  void start() throws Exception {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    data = Files.createTempDirectory("backstop-e2e");
    mongo = dev.backstop.testing.TestMongo.start();
    backstop = BackstopEmbedded.start(new BackstopEmbedded.Options(data, 0, 0, 0, clock,
        ScratchServers.with(Map.of("backstop.scheduler.tick", "PT1S",
            // a refused connection is retried: quickly here
            "backstop.worker.retry-backoff", "PT1S",
            // archives of pruned backups are deleted at once, so the test can see it
            "backstop.retention.download-grace", "PT0S",
            // the test's webhook receiver listens on 127.0.0.1, without TLS
            "backstop.webhooks.allow-http", "true",
            "backstop.webhooks.allow-private-addresses", "true")), mongo.uri()));

    database = LocalPostgres.createDatabase("backstop_e2e");
    databases.add(database);
    LocalPostgres.psql(database, """
        CREATE TABLE customers(id int PRIMARY KEY, name text, email text, created timestamptz);
        INSERT INTO customers SELECT g, 'name ' || md5(g::text), md5(g::text) || '@example.com', now() - g * interval '1 minute'
          FROM generate_series(1, 5000) g;
        CREATE TABLE orders(id bigserial PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), note text);
        INSERT INTO orders(customer, total, note) SELECT 1 + g % 5000, (g % 997) * 1.25, repeat(md5(g::text), 3)
          FROM generate_series(1, 20000) g;
        """);
  }

  @AfterAll
  void stop() {
    if (backstop != null) {
      backstop.close();
    }
    if (mongo != null) {
      mongo.close();
    }
    databases.forEach(LocalPostgres::dropDatabase);
  }

  @Test
  void the_start_up_report_finds_the_scratch_servers_restore_tests_go_to() {
    assertThat(backstop.restoreTestServers()).satisfiesExactly(
        postgres -> assertThat(postgres).matches("PostgreSQL \\d+\\.\\d+ at " + LocalPostgres.USER + "@" + LocalPostgres.HOST + ":"
            + LocalPostgres.PORT + " \\(found\\)"),
        mariadb -> assertThat(mariadb).matches("MariaDB [\\d.]+ at " + dev.backstop.testing.LocalMariadb.USER + "@"
            + dev.backstop.testing.LocalMariadb.HOST + ":" + dev.backstop.testing.LocalMariadb.PORT + " \\(found\\)"));
  }

  @Test
  @Order(1)
  void a_manual_backup_is_listed_downloads_as_tar_zst_and_restores_with_the_same_rows() throws Exception {
    assertThat(register("pg-main", "my-app", "starter", LocalPostgres.PORT).statusCode()).isEqualTo(201);

    HttpResponse<String> created = post("/v1/apps/my-app/addons/pg-main/backups");
    assertThat(created.statusCode()).isEqualTo(202);
    String id = json.readTree(created.body()).get("id").asString();
    assertThat(id).matches("[0-9a-f]{24}");

    JsonNode backup = awaitStatus("my-app", "pg-main", id, "done");
    assertThat(backup.get("kind").asString()).isEqualTo("manual");
    assertThat(backup.get("size").asLong()).isPositive();
    assertThat(backup.get("node").asString()).isEqualTo("PRIMARY@127.0.0.1:" + LocalPostgres.PORT);
    assertThat(Instant.parse(backup.get("createdAt").asString())).isBefore(clock.instant());

    JsonNode listing = json.readTree(get("/v1/apps/my-app/addons/pg-main/backups").body());
    assertThat(listing).hasSize(1);
    assertThat(listing.get(0).get("id").asString()).isEqualTo(id);
    assertThat(listing.get(0).get("status").asString()).isEqualTo("done");

    HttpResponse<byte[]> download = http.send(request("/v1/apps/my-app/addons/pg-main/backups/" + id + "/archive").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(download.statusCode()).isEqualTo(200);
    String disposition = download.headers().firstValue("Content-Disposition").orElseThrow();
    assertThat(disposition).matches("attachment; filename=\"\\d{14}_" + database + "\\.tar\\.zst\"");
    byte[] archive = download.body();
    assertThat((long) archive.length).isEqualTo(backup.get("size").asLong());
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(archive);
    assertThat(download.headers().firstValue("Repr-Digest").orElseThrow())
        .isEqualTo("sha-256=:" + Base64.getEncoder().encodeToString(sha) + ":");
    assertThat(java.util.HexFormat.of().formatHex(sha)).isEqualTo(backup.get("sha256").asString());
    // at rest the archive is encrypted: no zstd header, and not the bytes customers download
    byte[] atRest = Files.readAllBytes(archiveOf(id));
    assertThat(archiveOf(id).getFileName().toString()).endsWith(".tar.zst.tink");
    assertThat(java.util.Arrays.copyOf(archive, 4)).isEqualTo(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd});
    assertThat(java.util.Arrays.copyOf(atRest, 4)).isNotEqualTo(java.util.Arrays.copyOf(archive, 4));
    assertThat(backup.get("encrypted").asBoolean()).isTrue();

    Path dump = untarSingleEntry(archive, database + ".pgsql");
    String restored = LocalPostgres.createDatabase("backstop_e2e_restored");
    databases.add(restored);
    LocalPostgres.restore(dump, restored);
    for (String fingerprint : List.of(
        "SELECT count(*) || ':' || md5(string_agg(id || name || email || created, ',' ORDER BY id)) FROM customers",
        "SELECT count(*) || ':' || md5(string_agg(id || '/' || customer || '/' || total || note, ',' ORDER BY id)) FROM orders")) {
      assertThat(LocalPostgres.psql(restored, fingerprint)).isEqualTo(LocalPostgres.psql(database, fingerprint));
    }

    // and Backstop proved it restorable itself: read back, checked against its SHA-256, restored into a scratch database
    JsonNode verified = awaitVerified("my-app", "pg-main", id);
    assertThat(verified.get("verified").asBoolean()).as(verified.toString()).isTrue();
    assertThat(verified.get("verification").get("tables").asInt()).isEqualTo(2);
    assertThat(verified.get("verification").get("rows").asLong()).isEqualTo(25_000);
    assertThat(verified.get("verification").get("summary").asString()).startsWith("restored 2 of 2 tables, 25,000 rows into PostgreSQL ");

    HttpResponse<byte[]> latest = http.send(request("/v1/apps/my-app/addons/pg-main/backups/latest/archive").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(latest.body()).isEqualTo(archive);

    HttpResponse<byte[]> resumed = http.send(request("/v1/apps/my-app/addons/pg-main/backups/" + id + "/archive")
        .header("Range", "bytes=100-").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(resumed.statusCode()).isEqualTo(206);
    assertThat(resumed.body()).isEqualTo(java.util.Arrays.copyOfRange(archive, 100, archive.length));
  }

  @Test
  @Order(2)
  void starter_keeps_the_last_10_manual_backups_the_11th_prunes_the_oldest_archive() throws Exception {
    JsonNode before = json.readTree(get("/v1/apps/my-app/addons/pg-main/backups").body());
    String oldest = before.get(before.size() - 1).get("id").asString();
    Path oldestArchive = archiveOf(oldest);
    assertThat(oldestArchive).exists();

    List<String> ids = new ArrayList<>();
    for (int i = before.size(); i < 11; i++) {
      ids.add(json.readTree(post("/v1/apps/my-app/addons/pg-main/backups").body()).get("id").asString());
    }
    for (String id : ids) {
      awaitStatus("my-app", "pg-main", id, "done");
    }
    await().atMost(WAIT).untilAsserted(() ->
        assertThat(get("/v1/apps/my-app/addons/pg-main/backups/" + oldest).statusCode()).isEqualTo(404));
    JsonNode after = json.readTree(get("/v1/apps/my-app/addons/pg-main/backups").body());
    assertThat(after).hasSize(10);
    assertThat(oldestArchive).doesNotExist();
    assertThat(topicText(Topics.BACKUP_EVENTS)).contains(oldest).contains("manual: beyond the last 10 kept by the starter plan");

    JsonNode retention = json.readTree(get("/v1/apps/my-app/addons/pg-main/retention").body());
    assertThat(retention.get("plan").asString()).isEqualTo("starter");
    assertThat(retention.get("backups")).hasSize(10).allSatisfy(b ->
        assertThat(b.get("keptBy").toString()).contains("newest of the last 10 kept by the starter plan"));
    assertThat(retention.get("backups").get(0).get("keptBy").toString()).contains("newest successful backup");
    assertThat(retention.get("nextEvaluation")).isEmpty();
  }

  @Test
  @Order(3)
  void errors_are_problem_documents_and_change_nothing() throws Exception {
    assertThat(get("/actuator/health").body()).contains("\"UP\"");
    assertThat(send(anonymous("/v1/openapi.yaml").GET().build()).body()).startsWith("openapi: 3.1.0");

    HttpResponse<String> unknownApp = get("/v1/apps/no-such-app/addons");
    assertThat(unknownApp.statusCode()).isEqualTo(404);
    assertThat(unknownApp.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
    assertThat(json.readTree(unknownApp.body()).get("detail").asString()).isEqualTo("no app no-such-app");

    assertThat(post("/v1/apps/my-app/addons/no-such-addon/backups").statusCode()).isEqualTo(404);
    assertThat(get("/v1/apps/other-app/addons/pg-main/backups").statusCode()).isEqualTo(404);

    assertThat(register("pg-sandbox", "my-app", "sandbox", LocalPostgres.PORT).statusCode()).isEqualTo(201);
    HttpResponse<String> sandbox = post("/v1/apps/my-app/addons/pg-sandbox/backups");
    assertThat(sandbox.statusCode()).isEqualTo(409);
    assertThat(json.readTree(sandbox.body()).get("detail").asString()).startsWith("Sandbox plans have no backups");
    assertThat(json.readTree(get("/v1/apps/my-app/addons/pg-sandbox/backups").body())).isEmpty();

    HttpResponse<String> invalid = send(request("/v1/addons/bad").header("Authorization", "Bearer " + backstop.operatorToken())
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"appName\":\"My App\"}")).build());
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(invalid.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
    assertThat(get("/v1/apps/my-app/addons/bad").statusCode()).isEqualTo(404);

    HttpResponse<String> badHour = put("/v1/apps/my-app/addons/pg-main/schedule", "{\"hour\": 25}");
    assertThat(badHour.statusCode()).isEqualTo(400);
    assertThat(json.readTree(badHour.body()).get("detail").asString()).isEqualTo("hour must be less than or equal to 23 (got 25)");
    assertThat(json.readTree(get("/v1/apps/my-app/addons/pg-main/schedule").body()).get("hour").asInt()).isEqualTo(1);

    HttpResponse<String> anonymous = send(anonymous("/v1/addons/pg-main").DELETE().build());
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(send(anonymous("/v1/apps/my-app/addons").GET().build()).statusCode()).isEqualTo(401);
    assertThat(get("/v1/apps/my-app/addons/pg-main").statusCode()).isEqualTo(200);
  }

  @Test
  @Order(4)
  void the_backup_schedule_answers_like_the_reference_cli_and_rejects_what_it_cannot_do() throws Exception {
    String path = "/v1/apps/my-app/addons/pg-main/schedule";
    assertThat(json.readTree(get(path).body()).get("message").asString()).matches("Periodic backups will be done daily at 1:00 CES?T");

    HttpResponse<String> paris = put(path, "{\"scheduleAt\": \"6\", \"timezone\": \"Europe/Paris\"}");
    assertThat(paris.statusCode()).isEqualTo(200);
    assertThat(json.readTree(paris.body()).get("message").asString()).matches("Periodic backups will be done daily at 6:00 CES?T");

    for (String bad : List.of("24", "4:30", "4:00 Mars/Olympus", "noon")) {
      HttpResponse<String> refused = put(path, "{\"scheduleAt\": \"" + bad + "\"}");
      assertThat(refused.statusCode()).as(bad).isEqualTo(400);
      assertThat(refused.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
      assertThat(json.readTree(refused.body()).get("detail").asString()).as(bad).isNotBlank();
    }
    assertThat(json.readTree(get(path).body()).get("hour").asInt()).isEqualTo(6);
    assertThat(put("/v1/apps/my-app/addons/pg-sandbox/schedule", "{\"scheduleAt\": \"3\"}").statusCode()).isEqualTo(409);

    HttpResponse<String> back = put(path, "{\"scheduleAt\": \"1:00 Europe/Paris\"}");
    assertThat(json.readTree(back.body()).get("timezone").asString()).isEqualTo("Europe/Paris");
  }

  @Test
  @Order(5)
  void a_database_that_refuses_the_connection_ends_failed_with_the_reason() throws Exception {
    assertThat(register("pg-down", "my-app", "starter", 1).statusCode()).isEqualTo(201);
    String id = json.readTree(post("/v1/apps/my-app/addons/pg-down/backups").body()).get("id").asString();

    JsonNode failed = awaitStatus("my-app", "pg-down", id, "failed");
    // the first tool to reach the server is psql, counting the tables the dump must hold
    assertThat(failed.get("reason").asString()).startsWith("psql failed").contains("Connection refused")
        .endsWith("(after 3 attempts)");
    assertThat(topicText(Topics.BACKUP_EVENTS)).contains("Connection refused");
    HttpResponse<String> download = get("/v1/apps/my-app/addons/pg-down/backups/" + id + "/archive");
    assertThat(download.statusCode()).isEqualTo(409);
  }

  @Test
  @Order(6)
  void the_scheduler_requests_the_daily_backup_at_the_addons_hour() throws Exception {
    assertThat(register("pg-nightly", "night-app", "starter", LocalPostgres.PORT).statusCode()).isEqualTo(201);
    // the run's date is the slot's, not the clock's after the jump: a test started after 21:00 UTC crosses midnight
    Instant slot = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.HOURS).plus(Duration.ofHours(2));
    int hour = slot.atZone(ZoneOffset.UTC).getHour();
    HttpResponse<String> configured = put("/v1/apps/night-app/addons/pg-nightly/schedule", "{\"scheduleAt\": \"" + hour + ":00 UTC\"}");
    assertThat(configured.statusCode()).isEqualTo(200);
    assertThat(json.readTree(configured.body()).get("message").asString())
        .isEqualTo("Periodic backups will be done daily at " + hour + ":00 UTC");
    // ticks at the real hour: nothing is due yet
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
        .until(() -> json.readTree(get("/v1/apps/night-app/addons/pg-nightly/backups").body()).isEmpty());

    clock.advance(Duration.ofHours(3));
    LocalDate day = slot.atZone(ZoneOffset.UTC).toLocalDate();
    String expectedId = ScheduledBackupId.of("pg-nightly", day, "SCHEDULED");
    JsonNode backup = awaitStatus("night-app", "pg-nightly", expectedId, "done");
    assertThat(backup.get("kind").asString()).isEqualTo("scheduled");
    // more ticks: still one request for the day
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
        .until(() -> json.readTree(get("/v1/apps/night-app/addons/pg-nightly/backups").body()).size() == 1);
  }

  @Test
  @Order(7)
  void redelivering_every_request_and_backup_event_changes_nothing() throws Exception {
    // restore tests still running would change the listing and add events while this looks
    awaitConsumersCaughtUp();
    String listingBefore = get("/v1/apps/my-app/addons/pg-main/backups").body();
    List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> requests = records(Topics.BACKUP_REQUESTS);
    List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> events = records(Topics.BACKUP_EVENTS);
    String[] archivesBefore = archiveFiles();

    try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(Map.<String, Object>of(
        "bootstrap.servers", backstop.kafkaBootstrapServers()),
        new org.apache.kafka.common.serialization.ByteArraySerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      for (var r : requests) {
        producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.BACKUP_REQUESTS, r.key(), r.value())).get();
      }
      for (var r : events) {
        producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.BACKUP_EVENTS, r.key(), r.value())).get();
      }
    }
    awaitConsumersCaughtUp();
    assertThat(records(Topics.BACKUP_EVENTS)).hasSize(2 * events.size());
    assertThat(get("/v1/apps/my-app/addons/pg-main/backups").body()).isEqualTo(listingBefore);
    assertThat(archiveFiles()).containsExactly(archivesBefore);
  }

  @Test
  @Order(8)
  void a_mariadb_addon_is_dumped_with_mysqldump_and_restores_with_the_mysql_client() throws Exception {
    String mysqlDb = dev.backstop.testing.LocalMariadb.createDatabase("backstop_e2e");
    String restored = dev.backstop.testing.LocalMariadb.createDatabase("backstop_e2e_restored");
    try {
      dev.backstop.testing.LocalMariadb.sql(mysqlDb, "CREATE TABLE orders(id INT PRIMARY KEY, note VARCHAR(64)); "
          + "INSERT INTO orders SELECT seq, MD5(seq) FROM seq_1_to_10000;");
      // the customer's own user, with a password the server checks
      String user = mysqlDb.substring(mysqlDb.length() - 10);
      dev.backstop.testing.LocalMariadb.sql(null, "CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'; "
          + "GRANT ALL ON " + mysqlDb + ".* TO '" + user + "'@'%'");
      String body = json.writeValueAsString(Map.of(
          "appName", "shop", "engine", "mysql", "plan", "starter", "database", mysqlDb,
          "user", user, "password", password,
          "nodes", List.of(Map.of("role", "primary", "host", dev.backstop.testing.LocalMariadb.HOST,
              "port", dev.backstop.testing.LocalMariadb.PORT))));
      assertThat(send(request("/v1/addons/my-1").header("Authorization", "Bearer " + backstop.operatorToken())
          .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build()).statusCode())
          .isEqualTo(201);
      // a table locked by another session holds the dump after the orders: the listing shows it running, with progress
      dev.backstop.testing.LocalMariadb.sql(mysqlDb, "CREATE TABLE zz_locked(id INT PRIMARY KEY)");
      String id;
      try (var lock = dev.backstop.testing.LocalMariadb.holdWriteLock(mysqlDb, "zz_locked")) {
        id = json.readTree(post("/v1/apps/shop/addons/my-1/backups").body()).get("id").asString();
        JsonNode running = await().atMost(WAIT).pollInterval(Duration.ofMillis(500))
            .until(() -> json.readTree(get("/v1/apps/shop/addons/my-1/backups/" + id).body()),
                b -> b.get("status").asString().equals("running") && b.get("progress") != null && !b.get("progress").isNull()
                    && b.get("progress").get("dumpedBytes").asLong() > 0);
        assertThat(running.get("progress").get("attempt").asInt()).isEqualTo(1);
        // the orders, but what mysqldump still holds in its output buffer (backstop.worker.dump-output-buffer, 64 KiB)
        assertThat(running.get("progress").get("dumpedBytes").asLong()).isGreaterThan(10000L * 32 - (64 << 10));
        assertThat(running.get("node").asString()).isEqualTo("PRIMARY@" + dev.backstop.testing.LocalMariadb.HOST + ":"
            + dev.backstop.testing.LocalMariadb.PORT);
        assertThat(running.get("nodeReason").asString()).contains("starter plan");
      }
      JsonNode done = awaitStatus("shop", "my-1", id, "done");
      assertThat(done.get("archiveName").asString()).matches("\\d{14}_" + mysqlDb + "\\.tar\\.zst");
      assertThat(done.get("progress") == null || done.get("progress").isNull()).as("progress is shown only while running").isTrue();
      assertThat(done.get("nodeReason").asString()).contains("starter plan");
      JsonNode verified = awaitVerified("shop", "my-1", id);
      assertThat(verified.get("verified").asBoolean()).as(verified.toString()).isTrue();
      assertThat(verified.get("verification").get("summary").asString()).startsWith("restored 2 of 2 tables, 10,000 rows into MariaDB ");

      byte[] archive = http.send(request("/v1/apps/shop/addons/my-1/backups/" + id + "/archive").GET().build(),
          HttpResponse.BodyHandlers.ofByteArray()).body();
      Path dump = untarSingleEntry(archive, mysqlDb + ".sql");
      dev.backstop.testing.LocalMariadb.restore(dump, restored);
      String fingerprint = "SELECT COUNT(*), MD5(GROUP_CONCAT(id, note ORDER BY id)) FROM orders";
      assertThat(dev.backstop.testing.LocalMariadb.sql(restored, fingerprint))
          .isEqualTo(dev.backstop.testing.LocalMariadb.sql(mysqlDb, fingerprint));
    } finally {
      dev.backstop.testing.LocalMariadb.sql(null, "DROP USER IF EXISTS '" + mysqlDb.substring(mysqlDb.length() - 10) + "'@'%'");
      dev.backstop.testing.LocalMariadb.dropDatabase(mysqlDb);
      dev.backstop.testing.LocalMariadb.dropDatabase(restored);
    }
  }

  /** Runs the {@code backstop} CLI against this gateway: exit code, standard output, standard error. */
  private record Cli(int exit, String out, String err) {}

  private String appToken(String app) throws Exception {
    HttpResponse<String> issued = post("/v1/operator/apps/" + app + "/tokens");
    assertThat(issued.statusCode()).isEqualTo(201);
    return json.readTree(issued.body()).get("token").asString();
  }

  private Cli cli(String... args) throws Exception {
    if (myAppToken == null) {
      myAppToken = appToken("my-app");
    }
    var out = new java.io.StringWriter();
    var err = new java.io.StringWriter();
    int exit = dev.backstop.cli.CliLauncher.run(args, Map.of("BACKSTOP_API_URL", backstop.gatewayUrl(), "BACKSTOP_TOKEN", myAppToken),
        java.time.ZoneId.of("Europe/Paris"), new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
    return new Cli(exit, out.toString(), err.toString());
  }

  @Test
  @Order(9)
  void the_cli_lists_creates_downloads_resumes_and_configures_like_the_reference_one() throws Exception {
    Cli addons = cli("--app", "my-app", "addons");
    assertThat(addons.exit()).isZero();
    assertThat(addons.out()).contains("|   ADDON    |").contains("| PostgreSQL | pg-main    | postgresql-starter | running |");

    Cli backups = cli("--app", "my-app", "--addon", "pg-main", "backups");
    assertThat(backups.exit()).isZero();
    assertThat(backups.out()).containsPattern("\\|\\s+ID\\s+\\|\\s+CREATED AT\\s+\\|\\s+SIZE\\s+\\|\\s+STATUS\\s+\\|")
        .containsPattern("\\| [0-9a-f]{24} \\| \\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} CES?T +\\| +\\d+(\\.\\d)? kB \\| done +\\|");

    Cli created = cli("--app", "my-app", "--addon", "pg-main", "backups-create");
    assertThat(created.exit()).as(created.err()).isZero();
    assertThat(created.out()).isEqualTo("-----> Backup successfully finished\n");

    Path file = data.resolve("cli-download.tar.gz");
    Cli download = cli("--app", "my-app", "--addon", "pg-main", "backups-download", "--output", file.toString());
    assertThat(download.exit()).as(download.err()).isZero();
    assertThat(download.out()).startsWith("-----> Selected the most recent successful backup\n")
        .contains("100.00% ? p/s").endsWith("===> cli-download.tar.gz\n");
    byte[] whole = Files.readAllBytes(file);

    // an interrupted download resumes where it stopped and is checked against the backup's SHA-256
    Files.write(file, java.util.Arrays.copyOf(whole, whole.length / 2));
    Cli resumed = cli("--app", "my-app", "--addon", "pg-main", "backups-download", "--output", file.toString());
    assertThat(resumed.exit()).as(resumed.err()).isZero();
    assertThat(Files.readAllBytes(file)).isEqualTo(whole);

    Cli config = cli("--app", "my-app", "--addon", "pg-main", "backups-config", "--schedule-at", "4:00 UTC");
    assertThat(config.out()).isEqualTo("-----> Periodic backups will be done daily at 4:00 UTC\n");
    Cli local = cli("--app", "my-app", "--addon", "pg-main", "backups-config", "--schedule-at", "3");
    assertThat(local.out()).matches("-----> Periodic backups will be done daily at 3:00 CES?T\n");

    Cli badHour = cli("--app", "my-app", "--addon", "pg-main", "backups-config", "--schedule-at", "24");
    assertThat(badHour.exit()).isEqualTo(1);
    assertThat(badHour.err()).startsWith(" !     hour 24 does not exist");
    Cli unknown = cli("--app", "my-app", "--addon", "nope", "backups");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).isEqualTo(" !     no addon nope in app my-app\n");
    Cli noAddon = cli("--app", "my-app", "backups");
    assertThat(noAddon.exit()).isEqualTo(2);
    assertThat(noAddon.err()).contains("--addon");
  }

  @Test
  @Order(10)
  void an_app_token_sees_its_app_only_and_stops_working_once_revoked() throws Exception {
    HttpResponse<String> issued = post("/v1/operator/apps/my-app/tokens");
    String token = json.readTree(issued.body()).get("token").asString();
    String tokenId = json.readTree(issued.body()).get("id").asString();
    java.util.function.Function<String, HttpRequest.Builder> asApp = path -> anonymous(path).header("Authorization", "Bearer " + token);

    assertThat(send(asApp.apply("/v1/apps/my-app/addons/pg-main/backups").GET().build()).statusCode()).isEqualTo(200);
    String shopBackup = json.readTree(get("/v1/apps/shop/addons/my-1/backups").body()).get(0).get("id").asString();
    // every endpoint of another app answers 404, as if nothing were there
    for (var probe : List.<HttpRequest.Builder>of(
        asApp.apply("/v1/apps/shop/addons").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/backups").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/backups").POST(HttpRequest.BodyPublishers.noBody()),
        asApp.apply("/v1/apps/shop/addons/my-1/backups/" + shopBackup).GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/backups/" + shopBackup + "/archive").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/backups/latest/archive").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/schedule").GET(),
        asApp.apply("/v1/apps/shop/addons/my-1/schedule").header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString("{\"scheduleAt\": \"5\"}")),
        asApp.apply("/v1/apps/shop/addons/my-1/retention").GET(),
        asApp.apply("/v1/apps/no-such-app/addons").GET())) {
      HttpResponse<String> answer = send(probe.build());
      assertThat(answer.statusCode()).as(probe.build().method() + " " + probe.build().uri()).isEqualTo(404);
      // the same answer as for an app that does not exist: nothing about the other app's addons or backups
      assertThat(json.readTree(answer.body()).get("detail").asString()).matches("no app (shop|no-such-app)");
    }
    assertThat(json.readTree(get("/v1/apps/shop/addons/my-1/backups").body())).hasSize(1);
    assertThat(send(asApp.apply("/v1/addons/pg-main").DELETE().build()).statusCode()).isEqualTo(401);

    assertThat(send(request("/v1/operator/apps/my-app/tokens/" + tokenId).DELETE().build()).statusCode()).isEqualTo(204);
    assertThat(send(asApp.apply("/v1/apps/my-app/addons/pg-main/backups").GET().build()).statusCode()).isEqualTo(401);
  }

  @Test
  @Order(11)
  void a_signed_download_link_works_without_a_token_and_only_for_minutes() throws Exception {
    String backupId = json.readTree(get("/v1/apps/my-app/addons/pg-main/backups").body()).get(0).get("id").asString();
    HttpResponse<String> made = post("/v1/apps/my-app/addons/pg-main/backups/" + backupId + "/links");
    assertThat(made.statusCode()).isEqualTo(201);
    String url = json.readTree(made.body()).get("url").asString();

    HttpResponse<byte[]> followed = http.send(anonymous(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(followed.statusCode()).isEqualTo(200);
    assertThat(followed.headers().firstValue("Content-Disposition").orElseThrow()).contains(".tar.zst");
    assertThat(followed.headers().firstValue("Content-Type").orElseThrow()).isEqualTo("application/zstd");
    byte[] direct = http.send(request("/v1/apps/my-app/addons/pg-main/backups/" + backupId + "/archive").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray()).body();
    assertThat(followed.body()).isEqualTo(direct);

    String tampered = url.substring(0, url.length() - 2) + (url.endsWith("A") ? "BB" : "AA");
    assertThat(send(anonymous(tampered).GET().build()).statusCode()).isEqualTo(404);
    clock.advance(Duration.ofMinutes(11));
    HttpResponse<String> expired = send(anonymous(url).GET().build());
    assertThat(expired.statusCode()).isEqualTo(410);
    assertThat(json.readTree(expired.body()).get("detail").asString()).contains("expired");
  }

  /**
   * The dashboard's Backups tab in a real headless Chromium, driven by {@code e2e/dashboard.spec.mjs}
   * (playwright-core): sign-in, schedule, manual backup with live status, download, Sandbox. {@code ./dev test}
   * installs Chromium and the script's packages when they are missing.
   */
  @Test
  @Order(12)
  void the_dashboard_backups_tab_schedules_triggers_and_downloads_in_a_real_browser() throws Exception {
    Path e2e = Path.of(System.getProperty("backstop.e2e.dir", "../e2e")).toAbsolutePath().normalize();
    String chromium = System.getProperty("backstop.chromium", "/usr/bin/chromium");
    assertThat(e2e.resolve("node_modules/playwright-core")).as("playwright-core in " + e2e + ": run ./dev test, or npm ci there").isDirectory();
    assertThat(Path.of(chromium)).as("Chromium: run ./dev test, or apt-get install chromium").isExecutable();
    assertThat(register("pg-dash", "dash-app", "starter", LocalPostgres.PORT).statusCode()).isEqualTo(201);
    assertThat(register("sbx-dash", "dash-app", "sandbox", LocalPostgres.PORT).statusCode()).isEqualTo(201);
    Path screenshot = Path.of("target", "dashboard-backups-tab.png").toAbsolutePath();
    Path output = Files.createTempFile(data, "dashboard", ".log");
    var node = new ProcessBuilder("node", "dashboard.spec.mjs").directory(e2e.toFile())
        .redirectErrorStream(true).redirectOutput(output.toFile());
    // the token reaches the script through its environment, never its command line
    node.environment().putAll(Map.of("BACKSTOP_URL", backstop.gatewayUrl(), "BACKSTOP_TOKEN", appToken("dash-app"),
        "BACKSTOP_APP", "dash-app", "BACKSTOP_ADDON", "pg-dash", "BACKSTOP_SANDBOX_ADDON", "sbx-dash",
        "SCREENSHOT", screenshot.toString(), "CHROMIUM", chromium));
    Process run = node.start();
    boolean finished = run.waitFor(4, java.util.concurrent.TimeUnit.MINUTES);
    if (!finished) {
      run.destroyForcibly();
    }
    String log = Files.readString(output);
    assertThat(finished).as("the browser test finished in time:%n%s", log).isTrue();
    assertThat(run.exitValue()).as("the browser test passed:%n%s", log).isZero();
    assertThat(screenshot).isNotEmptyFile();
    assertThat(json.readTree(get("/v1/apps/dash-app/addons/pg-dash/schedule").body()).get("message").asString())
        .isEqualTo("Periodic backups will be done daily at 4:00 UTC");
    assertThat(json.readTree(get("/v1/apps/dash-app/addons/pg-dash/backups").body()).get(0).get("status").asString()).isEqualTo("done");

    HttpResponse<String> entry = send(anonymous("/dashboard").GET().build());
    assertThat(entry.statusCode()).isEqualTo(302);
    assertThat(entry.headers().firstValue("Location").orElseThrow()).endsWith("/dashboard/index.html");
    HttpResponse<String> page = send(anonymous("/dashboard/index.html").GET().build());
    assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("default-src 'self'", "frame-ancestors 'none'");

    // a removed addon keeps its backups until they age out, but its schedule says none will be taken
    assertThat(send(request("/v1/addons/pg-dash").header("Authorization", "Bearer " + backstop.operatorToken()).DELETE().build())
        .statusCode()).isLessThan(300);
    await().atMost(WAIT).untilAsserted(() -> assertThat(json.readTree(get("/v1/apps/dash-app/addons/pg-dash/schedule").body())
        .get("message").asString()).isEqualTo("Periodic backups are stopped: the addon was removed"));
  }

  @Test
  @Order(13)
  void the_password_never_appears_in_events_or_logs() throws Exception {
    for (String topic : List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS)) {
      assertThat(topicText(topic)).isNotEmpty().doesNotContain(password);
    }
    assertThat(logs.list).isNotEmpty().noneMatch(e -> e.getFormattedMessage().contains(password)
        || (e.getThrowableProxy() != null && String.valueOf(e.getThrowableProxy().getMessage()).contains(password)));
  }

  /**
   * A subscriber in another ecosystem, {@code examples/node-subscriber} (kafkajs + avsc), with only the
   * schema bundle: it reads {@code backstop.backup-events} from offset 0 and names every event exactly as
   * the Java codec does, over the real backups, failures, restore tests and prunes made above. The
   * batches on the topic are compressed only in ways kafkajs reads without plugins. {@code ./dev test}
   * installs the example's packages (its package-lock.json) when they are missing.
   */
  @Test
  @Order(14)
  void a_node_subscriber_with_only_the_schema_bundle_decodes_every_backup_event() throws Exception {
    Path example = Path.of(System.getProperty("backstop.examples.dir", "../examples")).resolve("node-subscriber")
        .toAbsolutePath().normalize();
    Path bundle = Path.of("../schemas/src/main/resources/released").toAbsolutePath().normalize();
    assertThat(example.resolve("node_modules/kafkajs")).as("kafkajs in " + example + ": run ./dev test, or npm ci there").isDirectory();
    assertThat(example.resolve("node_modules/avsc")).as("avsc in " + example + ": run ./dev test, or npm ci there").isDirectory();

    Map<String, String> expected = new java.util.TreeMap<>();
    for (var record : records(Topics.BACKUP_EVENTS)) {
      expected.put(record.partition() + ":" + record.offset(),
          dev.backstop.schemas.serde.EventCodec.get().decode(record.value()).getClass().getSimpleName());
    }
    assertThat(expected.values()).contains("BackupStarted", "BackupCompleted", "BackupFailed", "BackupVerified", "BackupPruned");

    Path output = Files.createTempFile(data, "node-subscriber", ".log");
    var node = new ProcessBuilder("node", "subscriber.mjs").directory(example.toFile())
        .redirectErrorStream(true).redirectOutput(output.toFile());
    node.environment().putAll(Map.of("KAFKA_BROKERS", backstop.kafkaBootstrapServers(), "BACKSTOP_BUNDLE", bundle.toString(),
        "TOPIC", Topics.BACKUP_EVENTS, "UNTIL_END", "1"));
    Process run = node.start();
    boolean finished = run.waitFor(2, java.util.concurrent.TimeUnit.MINUTES);
    if (!finished) {
      run.destroyForcibly();
    }
    String log = Files.readString(output);
    assertThat(finished).as("the Node subscriber read to the end in time:%n%s", log).isTrue();
    assertThat(run.exitValue()).as("the Node subscriber decoded everything:%n%s", log).isZero();

    Map<String, String> decoded = new java.util.TreeMap<>();
    var line = java.util.regex.Pattern.compile("^(\\d+:\\d+) (\\w+) v\\d+ addon=\\S+.*$", java.util.regex.Pattern.MULTILINE).matcher(log);
    while (line.find()) {
      decoded.put(line.group(1), line.group(2));
    }
    assertThat(decoded).as("one line per event, named as Java names it:%n%s", log).isEqualTo(expected);
    assertThat(log).containsPattern("BackupFailed v\\d+ addon=\\S+ backup=\\w+ kind=\\w+ failed=\\d{4}-\\d\\d-\\d\\dT.*Z reason=\"");

    // what kafkajs refuses (LZ4, Snappy, zstd) never reaches the topic: read every batch's header from the log
    java.util.Set<org.apache.kafka.common.record.CompressionType> compressions = java.util.EnumSet.noneOf(org.apache.kafka.common.record.CompressionType.class);
    try (var segments = Files.walk(data.resolve("kafka"))) {
      for (Path segment : segments.filter(p -> p.getParent().getFileName().toString().startsWith(Topics.BACKUP_EVENTS + "-")
          && p.getFileName().toString().endsWith(".log")).toList()) {
        try (var records = org.apache.kafka.common.record.FileRecords.open(segment.toFile())) {
          records.batches().forEach(b -> compressions.add(b.compressionType()));
        }
      }
    }
    assertThat(compressions).contains(org.apache.kafka.common.record.CompressionType.GZIP)
        .isSubsetOf(org.apache.kafka.common.record.CompressionType.NONE, org.apache.kafka.common.record.CompressionType.GZIP);
  }

  @Test
  @Order(16)
  void a_manual_backup_is_one_trace_from_the_api_call_to_its_restore_test() throws Exception {
    HttpResponse<String> created = post("/v1/apps/my-app/addons/pg-main/backups");
    assertThat(created.statusCode()).isEqualTo(202);
    String id = json.readTree(created.body()).get("id").asString();
    awaitVerified("my-app", "pg-main", id);
    awaitConsumersCaughtUp();

    // the gateway's request, and the worker's start, completion and restore test of that backup
    List<String> traces = new ArrayList<>();
    List<String> kinds = new ArrayList<>();
    for (String topic : List.of(Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS)) {
      for (var record : records(topic)) {
        var event = (org.apache.avro.generic.GenericRecord) dev.backstop.schemas.serde.EventCodec.get().decode(record.value());
        if (event.getSchema().getField("backupId") != null && id.equals(String.valueOf(event.get("backupId")))) {
          var header = record.headers().lastHeader("traceparent");
          kinds.add(event.getSchema().getName());
          traces.add(header == null ? null : new String(header.value(), StandardCharsets.UTF_8).split("-")[1]);
        }
      }
    }
    assertThat(kinds).contains("BackupRequested", "BackupStarted", "BackupCompleted", "BackupVerified");
    assertThat(traces).as("the trace id of each record (" + kinds + ")").doesNotContainNull().hasSameSizeAs(kinds)
        .allSatisfy(trace -> assertThat(trace).matches("[0-9a-f]{32}").isEqualTo(traces.get(0)));
  }

  @Test
  @Order(15)
  void a_webhook_endpoint_hears_of_its_apps_failed_backup_signed_and_the_delivery_log_says_so() throws Exception {
    List<Map<String, String>> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    var receiver = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/hook", exchange -> {
      received.add(Map.of("id", exchange.getRequestHeaders().getFirst("webhook-id"),
          "timestamp", exchange.getRequestHeaders().getFirst("webhook-timestamp"),
          "signature", exchange.getRequestHeaders().getFirst("webhook-signature"),
          "body", new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    receiver.start();
    try {
      assertThat(register("pg-hooked", "hook-app", "starter", 1).statusCode()).isEqualTo(201);
      HttpResponse<String> created = send(request("/v1/apps/hook-app/webhooks").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"url\":\"http://127.0.0.1:" + receiver.getAddress().getPort()
              + "/hook\",\"events\":[\"backup.failed\",\"backup.completed\"]}")).build());
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String webhook = json.readTree(created.body()).get("id").asString();
      String secret = json.readTree(created.body()).get("secret").asString();

      String id = json.readTree(post("/v1/apps/hook-app/addons/pg-hooked/backups").body()).get("id").asString();
      awaitStatus("hook-app", "pg-hooked", id, "failed");

      await().atMost(WAIT).until(() -> received.size() == 1);
      Map<String, String> delivery = received.get(0);
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
      String expected = "v1," + Base64.getEncoder().encodeToString(mac.doFinal(
          (delivery.get("id") + "." + delivery.get("timestamp") + "." + delivery.get("body")).getBytes(StandardCharsets.UTF_8)));
      assertThat(delivery.get("signature")).isEqualTo(expected);
      JsonNode body = json.readTree(delivery.get("body"));
      assertThat(body.get("type").asString()).isEqualTo("backup.failed");
      assertThat(body.get("data").get("app").asString()).isEqualTo("hook-app");
      assertThat(body.get("data").get("addon").asString()).isEqualTo("pg-hooked");
      assertThat(body.get("data").get("backupId").asString()).isEqualTo(id);
      assertThat(body.get("data").get("reason").asString()).contains("Connection refused");
      assertThat(delivery.get("body")).doesNotContain(password);

      JsonNode log = await().atMost(WAIT).until(() -> json.readTree(get("/v1/apps/hook-app/webhooks/" + webhook + "/deliveries").body()),
          entries -> entries.size() == 1);
      assertThat(log.get(0).get("messageId").asString()).isEqualTo(delivery.get("id"));
      assertThat(log.get(0).get("status").asString()).isEqualTo("delivered");
      assertThat(log.get(0).get("attempts").asInt()).isEqualTo(1);
      assertThat(log.get(0).get("httpStatus").asInt()).isEqualTo(204);
      // my-app's backups, failed ones included, went to no endpoint of hook-app
      assertThat(received).hasSize(1);
    } finally {
      receiver.stop(0);
    }
  }

  private HttpResponse<String> register(String addonId, String app, String plan, int port) throws Exception {
    return register(addonId, app, plan, port, 1, "Europe/Paris");
  }

  private HttpResponse<String> register(String addonId, String app, String plan, int port, int hour, String zone) throws Exception {
    String body = json.writeValueAsString(Map.of(
        "appName", app, "engine", "postgresql", "plan", plan, "database", database, "user", LocalPostgres.USER,
        "password", password,
        "nodes", List.of(Map.of("role", "primary", "host", "127.0.0.1", "port", port)),
        "schedule", Map.of("enabled", true, "hour", hour, "timezone", zone)));
    return send(request("/v1/addons/" + addonId).header("Authorization", "Bearer " + backstop.operatorToken())
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private JsonNode awaitStatus(String app, String addon, String id, String status) {
    String path = "/v1/apps/" + app + "/addons/" + addon + "/backups/" + id;
    return await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
      HttpResponse<String> r = get(path);
      return r.statusCode() == 200 ? json.readTree(r.body()) : null;
    }, b -> b != null && b.get("status").asString().equals(status));
  }

  /** The backup once its restore test has ended, passed or not. */
  private JsonNode awaitVerified(String app, String addon, String id) {
    return await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
        .until(() -> json.readTree(get("/v1/apps/" + app + "/addons/" + addon + "/backups/" + id).body()),
            b -> b.get("verified") != null && !b.get("verified").isNull());
  }

  private Path archiveOf(String backupId) throws Exception {
    try (var files = Files.walk(backstop.archiveDirectory())) {
      return files.filter(p -> p.getParent().getFileName().toString().equals(backupId)).findFirst().orElseThrow();
    }
  }

  /** Extracts the archive with stock {@code tar}, as the README tells customers to, and expects one file. */
  private Path untarSingleEntry(byte[] archive, String expectedName) throws Exception {
    Path dir = Files.createTempDirectory(data, "restore");
    Path file = Files.write(dir.resolve("archive.tar.zst"), archive);
    Process tar = new ProcessBuilder("tar", "-xf", file.toString(), "-C", dir.toString()).redirectErrorStream(true).start();
    String output = new String(tar.getInputStream().readAllBytes());
    assertThat(tar.waitFor()).as(output).isZero();
    Files.delete(file);
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(expectedName);
    }
    return dir.resolve(expectedName);
  }

  /** Waits until every service's consumer group has committed the end of every Backstop topic. */
  private void awaitConsumersCaughtUp() {
    try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", backstop.kafkaBootstrapServers()))) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
        var partitions = admin.describeTopics(List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS))
            .allTopicNames().get().values().stream()
            .flatMap(t -> t.partitions().stream().map(p -> new org.apache.kafka.common.TopicPartition(t.name(), p.partition())))
            .toList();
        var ends = admin.listOffsets(partitions.stream().collect(java.util.stream.Collectors.toMap(
            p -> p, p -> org.apache.kafka.clients.admin.OffsetSpec.latest()))).all().get();
        for (String group : List.of("gateway", "dump-worker", "restore-verifier", "retention", "scheduler")) {
          var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
          for (var entry : committed.entrySet()) {
            // the groups read other topics too (point-in-time events, webhooks): only these three are waited for
            if (ends.containsKey(entry.getKey()) && entry.getValue().offset() < ends.get(entry.getKey()).offset()) {
              return false;
            }
          }
        }
        return true;
      });
    }
  }

  private String[] archiveFiles() throws Exception {
    try (var files = Files.walk(backstop.archiveDirectory())) {
      return files.filter(Files::isRegularFile).map(Path::toString).sorted().toArray(String[]::new);
    }
  }

  /** Every record of a topic from offset 0, as text, to look for strings in. */
  private String topicText(String topic) {
    StringBuilder text = new StringBuilder();
    records(topic).forEach(r -> text.append(new String(r.value(), StandardCharsets.ISO_8859_1)).append('\n'));
    return text.toString();
  }

  private List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records(String topic) {
    try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, backstop.kafkaBootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "e2e-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
      long quietSince = System.nanoTime();
      while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()) {
        var records = consumer.poll(Duration.ofMillis(300));
        records.forEach(all::add);
        if (!records.isEmpty()) {
          quietSince = System.nanoTime();
        }
      }
      return all;
    }
  }

  /** A request as the platform's operator makes it (the operator may call every endpoint). */
  private HttpRequest.Builder request(String path) {
    return anonymous(path).header("Authorization", "Bearer " + backstop.operatorToken());
  }

  private HttpRequest.Builder anonymous(String path) {
    return HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + path)).timeout(Duration.ofSeconds(30));
  }

  private HttpResponse<String> get(String path) throws Exception {
    return send(request(path).GET().build());
  }

  private HttpResponse<String> put(String path, String body) throws Exception {
    return send(request(path).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private HttpResponse<String> post(String path) throws Exception {
    return send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build());
  }

  private HttpResponse<String> send(HttpRequest request) throws Exception {
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
