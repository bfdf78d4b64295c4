package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.json.JsonMapper;

/**
 * Each service as its own process, started from its executable jar and configured only through the
 * environment variables docker-compose.yml sets (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, PORT, …),
 * against a broker and a store outside those processes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StandaloneServicesIT {

  private static final List<String> SERVICES = List.of("api-gateway", "dump-worker", "retention-service", "scheduler-service",
      "notifier");
  private static final String TOKEN = "standalone-operator-token-0123456789";

  private final HttpClient http = HttpClient.newHttpClient();
  private final JsonMapper json = JsonMapper.builder().build();
  private final List<Process> processes = new ArrayList<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private Path dir;

  @BeforeAll
  void startServices() throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    dir = Files.createTempDirectory("backstop-standalone");
    String key = SecretSealer.newBase64Key();
    for (String service : SERVICES) {
      int port = ServiceProcesses.freePort();
      // a port is only reserved once its service binds it: the next call may hand out the same one again
      while (ports.containsValue(port)) {
        port = ServiceProcesses.freePort();
      }
      ports.put(service, port);
      Map<String, String> env = ServiceProcesses.environment(kafka, mongo, port, dir, key);
      env.put("BACKSTOP_OPERATOR_TOKEN", TOKEN);
      processes.add(ServiceProcesses.launch(service, dir, service, env));
    }
  }

  @AfterAll
  void stop() {
    processes.forEach(Process::destroy);
    processes.forEach(p -> p.onExit().join());
    if (kafka != null) {
      kafka.close();
    }
    if (mongo != null) {
      mongo.close();
    }
  }

  @Test
  void each_service_runs_alone_from_environment_variables_and_a_backup_completes() throws Exception {
    for (var service : ports.entrySet()) {
      Process process = processes.get(SERVICES.indexOf(service.getKey()));
      ServiceProcesses.awaitUp(process, service.getValue(), dir, service.getKey());
    }

    dev.backstop.inprocess.ConsumerGroups.awaitAssigned(kafka.bootstrapServers(),
        Map.of("gateway", 21, "dump-worker", 12, "retention", 6, "scheduler", 9, "notifier", 12), Duration.ofMinutes(2));
    String gateway = "http://127.0.0.1:" + ports.get("api-gateway");
    String body = json.writeValueAsString(Map.of("appName", "solo-app", "engine", "postgresql", "plan", "business",
        "database", "postgres", "user", LocalPostgres.USER, "password", "unused-with-trust-auth",
        "nodes", List.of(Map.of("role", "primary", "host", LocalPostgres.HOST, "port", LocalPostgres.PORT),
            Map.of("role", "secondary", "host", "127.0.0.1", "port", 1))));
    var registered = http.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/addons/solo")).header("Authorization", "Bearer " + TOKEN)
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(registered.statusCode()).isEqualTo(201);

    var created = http.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/apps/solo-app/addons/solo/backups"))
        .header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    String id = json.readTree(created.body()).get("id").asString();

    // the secondary's port is closed: it fails its check, and the worker falls back to the primary
    var done = await().atMost(Duration.ofSeconds(60)).until(() -> json.readTree(http.send(
            HttpRequest.newBuilder(URI.create(gateway + "/v1/apps/solo-app/addons/solo/backups/" + id))
                .header("Authorization", "Bearer " + TOKEN).build(),
            HttpResponse.BodyHandlers.ofString()).body()),
        b -> b.get("status").asString().equals("done") || b.get("status").asString().equals("failed"));
    assertThat(done.get("status").asString()).as("reason: %s", done.get("reason")).isEqualTo("done");
    assertThat(done.get("node").asString()).isEqualTo("PRIMARY@" + LocalPostgres.HOST + ":" + LocalPostgres.PORT);
  }
}
