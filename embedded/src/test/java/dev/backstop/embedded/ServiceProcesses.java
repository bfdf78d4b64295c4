package dev.backstop.embedded;

import static org.awaitility.Awaitility.await;

import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Services as their own processes, started from their executable jars (packaged first) and configured
 * only through the environment variables docker-compose.yml sets, against a broker and a store outside
 * them; each writes its log to {@code <dir>/<logName>.log}.
 */
final class ServiceProcesses {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private ServiceProcesses() {}

  /** What every service is started with: the scratch servers, broker, store, port, archives and secrets key. */
  static Map<String, String> environment(InProcessKafka kafka, MongoHandle mongo, int port, Path dir, String secretsKey) {
    Map<String, String> env = new LinkedHashMap<>(ScratchServers.environment());
    env.putAll(Map.of(
        "KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
        "MONGODB_URI", mongo.uri(),
        "PORT", Integer.toString(port),
        "BACKSTOP_ARCHIVE_DIR", dir.resolve("archives").toString(),
        "BACKSTOP_SECRETS_KEY", secretsKey));
    return env;
  }

  static Process launch(String service, Path dir, String logName, Map<String, String> env) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-jar", execJar(service).toString())
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve(logName + ".log").toFile());
    builder.environment().putAll(env);
    return builder.start();
  }

  /** Waits until the service reports itself up on its port; fails at once, naming its log, if it exits. */
  static void awaitUp(Process process, int port, Path dir, String logName) {
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
        .failFast(logName + " exited; see " + dir.resolve(logName + ".log"), () -> !process.isAlive())
        .until(() -> health(port).contains("\"UP\""));
  }

  /** The service's health document; empty while it does not answer. */
  static String health(int port) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException | InterruptedException e) {
      return "";
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static Path execJar(String service) throws IOException {
    try (var files = Files.list(Path.of("..", service, "target").toAbsolutePath().normalize())) {
      return files.filter(p -> p.getFileName().toString().endsWith("-exec.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no executable jar of " + service + ": package it first"));
    }
  }
}
