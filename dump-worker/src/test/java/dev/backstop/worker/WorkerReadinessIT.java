package dev.backstop.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.schemas.secret.SecretSealer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The worker's readiness says whether it can work: not ready while its archive store, its broker or its
 * store cannot be reached, each named in the answer; alive all the same (a restart would not help).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerReadinessIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final HttpClient http = HttpClient.newHttpClient();
  private final JsonMapper json = JsonMapper.builder().build();
  private InProcessKafka kafka;
  private InProcessMongo mongo;
  private Path archives;
  private ConfigurableApplicationContext worker;
  private String base;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = InProcessMongo.inMemory();
    archives = dir.resolve("archives");
    worker = WorkerApplication.builder().run(
        "--server.port=0",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        // a store that stops answering counts as down within a second, not after the driver's 30 s
        "--spring.mongodb.uri=" + mongo.uri() + (mongo.uri().contains("?") ? "&" : "/?")
            + "serverSelectionTimeoutMS=1000&connectTimeoutMS=1000",
        "--backstop.mongodb.database=worker-readiness",
        "--backstop.archive.directory=" + archives,
        "--backstop.secrets.key=" + SecretSealer.newBase64Key(),
        "--backstop.worker.work-directory=" + dir.resolve("work"),
        "--backstop.verifier.enabled=false");
    base = "http://127.0.0.1:" + worker.getEnvironment().getProperty("local.server.port");
  }

  @AfterAll
  void stop() {
    if (worker != null) {
      worker.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (mongo != null) {
      mongo.close();
    }
  }

  @Test
  void notReadyWhileItsArchiveStoreItsBrokerOrItsStoreIsOutOfReach() throws Exception {
    await().atMost(WAIT).untilAsserted(() -> assertThat(readiness().statusCode()).isEqualTo(200));
    JsonNode ready = json.readTree(readiness().body());
    for (String part : new String[] {"kafka", "mongo", "archiveStore", "readinessState"}) {
      assertThat(ready.path("components").path(part).path("status").asString()).as(part).isEqualTo("UP");
    }

    // the archive directory replaced by a file: nothing can be stored
    Files.createDirectories(archives);
    Files.delete(archives);
    Files.writeString(archives, "not a directory");
    awaitDown("archiveStore");
    Files.delete(archives);
    await().atMost(WAIT).untilAsserted(() -> assertThat(readiness().statusCode()).isEqualTo(200));

    kafka.close();
    awaitDown("kafka");
    assertThat(get("/actuator/health/liveness").statusCode()).as("alive without its broker").isEqualTo(200);

    mongo.close();
    awaitDown("mongo");
    assertThat(get("/actuator/health/liveness").statusCode()).as("alive without its store").isEqualTo(200);
  }

  private void awaitDown(String part) {
    await().atMost(WAIT).untilAsserted(() -> {
      HttpResponse<String> answer = readiness();
      assertThat(answer.statusCode()).isEqualTo(503);
      assertThat(json.readTree(answer.body()).path("components").path(part).path("status").asString()).isEqualTo("DOWN");
    });
  }

  private HttpResponse<String> readiness() throws Exception {
    return get("/actuator/health/readiness");
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
