package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.LocalMariadb;
import dev.backstop.testing.LocalPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An attacker's and a careless operator's addon settings, fed through the operator API of a running
 * Backstop with the real mysqldump, pg_dump, mysql and pg_restore behind it: every value that could
 * become an option or break out of an option file is refused with a 400 naming the field and stores
 * nothing; every value that is merely unusual (a password made of the characters option files and
 * pgpass treat specially) works, and its backup is done and restore-tested with its tables.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileSettingsIT {

  private static final Duration WAIT = Duration.ofSeconds(90);
  /** Every character an option file, a pgpass line or a shell would read specially, spaces around. */
  private static final String ODD_PASSWORD = " p#ss;w=rd:'\"\\ [client] $HOME `x` end ";

  private final JsonMapper json = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newHttpClient();
  private final String leak = "backstop-hostile-" + UUID.randomUUID();
  private final List<Runnable> cleanUp = new ArrayList<>();

  private Path data;
  private BackstopEmbedded backstop;
  private dev.backstop.inprocess.MongoHandle mongo;
  private String mysqlDatabase;
  private String mysqlUser;
  private String pgDatabase;

  @BeforeAll
  void start() throws Exception {
    data = Files.createTempDirectory("backstop-hostile");
    mongo = dev.backstop.testing.TestMongo.start();
    backstop = BackstopEmbedded.start(new BackstopEmbedded.Options(data, 0, 0, 0, new AdjustableClock(),
        ScratchServers.with(Map.of("backstop.worker.retry-backoff", "PT1S")), mongo.uri()));

    mysqlDatabase = LocalMariadb.createDatabase("backstop_hostile");
    cleanUp.add(() -> LocalMariadb.dropDatabase(mysqlDatabase));
    LocalMariadb.sql(mysqlDatabase, """
        CREATE TABLE customers(id int PRIMARY KEY, name varchar(100));
        INSERT INTO customers VALUES (1, 'one'), (2, 'two'), (3, 'three');
        CREATE TABLE orders(id int PRIMARY KEY, customer int, total decimal(10,2));
        INSERT INTO orders VALUES (1, 1, 9.99), (2, 3, 20.00);
        """);
    // a user of this database only, whose password is the odd one: the client must read it back exactly
    mysqlUser = "bk_" + UUID.randomUUID().toString().substring(0, 8);
    String literal = "'" + ODD_PASSWORD.replace("\\", "\\\\").replace("'", "''") + "'";
    LocalMariadb.sql(null, "CREATE USER '" + mysqlUser + "'@'%' IDENTIFIED BY " + literal
        + "; GRANT ALL ON " + mysqlDatabase + ".* TO '" + mysqlUser + "'@'%'");
    cleanUp.add(() -> LocalMariadb.sql(null, "DROP USER IF EXISTS '" + mysqlUser + "'@'%'"));

    pgDatabase = LocalPostgres.createDatabase("backstop_hostile");
    cleanUp.add(() -> LocalPostgres.dropDatabase(pgDatabase));
    LocalPostgres.psql(pgDatabase, """
        CREATE TABLE customers(id int PRIMARY KEY, name text);
        INSERT INTO customers SELECT g, 'name ' || g FROM generate_series(1, 50) g;
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
    cleanUp.reversed().forEach(Runnable::run);
  }

  /** field, the value put there, and the name the problem must give the field. */
  Stream<Arguments> refused() {
    String injection = "x\npassword=real\nresult-file=/tmp/" + leak + "\n#";
    return Stream.of(
        Arguments.of("mysql", "password", injection, "password"),
        Arguments.of("mysql", "password", "no-data\r\n", "password"),
        Arguments.of("mysql", "password", "nul\u0000byte", "password"),
        Arguments.of("mysql", "user", "root\nresult-file=/tmp/" + leak, "user"),
        Arguments.of("mysql", "user", "--user=root", "user"),
        Arguments.of("mysql", "database", "-A", "database"),
        Arguments.of("mysql", "database", "--all-databases", "database"),
        Arguments.of("mysql", "host", "-h", "host"),
        Arguments.of("mysql", "host", "--host=127.0.0.1", "host"),
        Arguments.of("mysql", "host", "db\nhost", "host"),
        Arguments.of("postgresql", "database", "host=127.0.0.1 dbname=postgres", "database"),
        Arguments.of("postgresql", "database", "postgresql://127.0.0.1/postgres", "database"),
        Arguments.of("postgresql", "database", "--dbname=postgres", "database"),
        Arguments.of("postgresql", "password", "line\nbreak", "password"),
        Arguments.of("postgresql", "host", "-W", "host"));
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("refused")
  void a_value_that_could_become_an_option_is_refused_naming_its_field_and_stores_nothing(String engine, String field,
      String value, String named) throws Exception {
    String addonId = "hostile-" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, Object> body = registration(engine, "hostile-app");
    if (field.equals("host")) {
      body.put("nodes", List.of(Map.of("role", "primary", "host", value, "port", 3306)));
    } else {
      body.put(field, value);
    }

    HttpResponse<String> response = put("/v1/addons/" + addonId, json.writeValueAsString(body));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
    JsonNode problem = json.readTree(response.body());
    assertThat(problem.get("detail").asString()).contains(named);
    if (field.equals("password")) {
      assertThat(response.body()).doesNotContain(value).doesNotContain("real").doesNotContain(leak);
    }
    assertThat(get("/v1/apps/hostile-app/addons/" + addonId).statusCode()).isEqualTo(404);
    assertThat(Path.of("/tmp", leak)).doesNotExist();
  }

  @Test
  void a_mysql_password_of_option_file_characters_works_and_its_backup_is_done_and_restore_tested_with_its_tables()
      throws Exception {
    Map<String, Object> body = registration("mysql", "odd-app");
    body.put("database", mysqlDatabase);
    body.put("user", mysqlUser);
    body.put("password", ODD_PASSWORD);
    assertThat(put("/v1/addons/odd-my", json.writeValueAsString(body)).statusCode()).isEqualTo(201);

    JsonNode verified = backupAndAwaitVerified("odd-app", "odd-my");

    assertThat(verified.get("verification").get("passed").asBoolean()).as(verified.toString()).isTrue();
    assertThat(verified.get("verification").get("tables").asInt()).isEqualTo(2);
    assertThat(verified.get("verification").get("rows").asLong()).isEqualTo(5);
    assertThat(Path.of("/tmp", leak)).doesNotExist();
  }

  @Test
  void a_postgresql_password_of_pgpass_characters_works_and_its_backup_is_done_and_restore_tested_with_its_tables()
      throws Exception {
    Map<String, Object> body = registration("postgresql", "odd-app");
    body.put("database", pgDatabase);
    body.put("user", LocalPostgres.USER);
    body.put("password", ODD_PASSWORD);
    body.put("nodes", List.of(Map.of("role", "primary", "host", LocalPostgres.HOST, "port", LocalPostgres.PORT)));
    assertThat(put("/v1/addons/odd-pg", json.writeValueAsString(body)).statusCode()).isEqualTo(201);

    JsonNode verified = backupAndAwaitVerified("odd-app", "odd-pg");

    assertThat(verified.get("verification").get("passed").asBoolean()).as(verified.toString()).isTrue();
    assertThat(verified.get("verification").get("tables").asInt()).isEqualTo(1);
    assertThat(verified.get("verification").get("rows").asLong()).isEqualTo(50);
  }

  @Test
  void a_mysql_backup_with_a_wrong_password_fails_without_quoting_it_or_a_path() throws Exception {
    String wrong = "wrong#pass;word=" + UUID.randomUUID();
    Map<String, Object> body = registration("mysql", "wrong-app");
    body.put("database", mysqlDatabase);
    body.put("user", mysqlUser);
    body.put("password", wrong);
    assertThat(put("/v1/addons/wrong-my", json.writeValueAsString(body)).statusCode()).isEqualTo(201);

    String id = json.readTree(post("/v1/apps/wrong-app/addons/wrong-my/backups").body()).get("id").asString();
    JsonNode failed = await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
        .until(() -> json.readTree(get("/v1/apps/wrong-app/addons/wrong-my/backups/" + id).body()),
            b -> b.get("status").asString().equals("failed"));

    String reason = failed.get("reason").asString();
    assertThat(reason).isNotBlank().doesNotContain(wrong).doesNotContain("pass;word").doesNotContain(data.toString())
        .doesNotContain("/tmp/").doesNotContain("my.cnf");
  }

  private JsonNode backupAndAwaitVerified(String app, String addon) throws Exception {
    HttpResponse<String> created = post("/v1/apps/" + app + "/addons/" + addon + "/backups");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
    String id = json.readTree(created.body()).get("id").asString();
    String path = "/v1/apps/" + app + "/addons/" + addon + "/backups/" + id;
    JsonNode done = await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
        .until(() -> json.readTree(get(path).body()), b -> !b.get("status").asString().matches("pending|running"));
    assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("done");
    return await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
        .until(() -> json.readTree(get(path).body()), b -> b.get("verified") != null && !b.get("verified").isNull());
  }

  private Map<String, Object> registration(String engine, String app) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("appName", app);
    body.put("engine", engine);
    body.put("plan", "starter");
    body.put("database", "app_db");
    body.put("user", "app");
    body.put("password", "a-fine-password");
    body.put("nodes", List.of(Map.of("role", "primary", "host", "127.0.0.1",
        "port", engine.equals("mysql") ? LocalMariadb.PORT : LocalPostgres.PORT)));
    body.put("schedule", Map.of("enabled", false));
    return body;
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + backstop.operatorToken());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> put(String path, String body) throws Exception {
    return http.send(request(path).header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path) throws Exception {
    return http.send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }
}
