package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.testing.PostgresCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Point-in-time recovery with every piece together, as a customer sees it: Backstop embedded with the WAL
 * archiver on, a throwaway primary of the test's own ({@code track_commit_timestamp=on}) registered through
 * the operator API, and nothing else but the public HTTP API. The archiver streams and asks for the first
 * base, the worker takes it, the window opens; restores at two instants come back as downloadable
 * archives holding exactly the rows committed at or before them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PitrEndToEndIT {

  private static final String APP = "pitr-app";
  private static final String ADDON = "pg-pitr-e2e";
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final JsonMapper json = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private PostgresCluster primary;
  private BackstopEmbedded backstop;
  private Path data;
  private String appToken;

  @BeforeAll
  void start() throws Exception {
    primary = PostgresCluster.primary(freePort());
    cleanup.add(primary);
    primary.psql("postgres", "alter system set track_commit_timestamp = on");
    primary.stop();
    primary.start();
    primary.psql("postgres", "create database shop");
    primary.psql("shop", "create table numbered(id bigint primary key, note text)");

    data = Files.createTempDirectory("backstop-pitr-e2e");
    // the restore's scratch server runs as postgres and must reach its folder under the work directory
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
    var mongo = dev.backstop.testing.TestMongo.start();
    cleanup.add(mongo::close);
    backstop = BackstopEmbedded.start(new BackstopEmbedded.Options(data, 0, 0, 0, Clock.systemUTC(),
        ScratchServers.with(Map.of(
            // this addon is the test's own cluster: a slot there pins nobody's WAL
            "backstop.wal-archiver.enabled", "true",
            "backstop.wal-archiver.chunk-interval", "100ms",
            "backstop.wal-archiver.tick", "500ms",
            "backstop.wal-archiver.lease", "5s",
            "backstop.wal-archiver.probe-interval", "200ms",
            // WalArchived (latest) and the window re-evaluated often, so the window opens soon after the base
            "backstop.wal-archiver.progress-interval", "1s",
            "backstop.worker.retry-backoff", "PT1S")), mongo.uri()));
  }

  @AfterAll
  void stop() throws Exception {
    if (backstop != null) {
      backstop.close();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (data != null) {
      try (var files = Files.walk(data)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void the_window_opens_by_itself_and_restores_at_two_instants_hold_exactly_the_rows_committed_by_then() throws Exception {
    String registration = json.writeValueAsString(Map.of(
        "appName", APP, "engine", "postgresql", "plan", "starter", "database", "shop", "user", "postgres",
        "password", "not-asked-for-trust-auth",
        "nodes", List.of(Map.of("role", "primary", "host", "127.0.0.1", "port", primary.port())),
        "schedule", Map.of("enabled", true, "hour", 3, "timezone", "UTC")));
    HttpResponse<String> registered = send(operator("/v1/addons/" + ADDON).header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(registration)).build());
    assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
    HttpResponse<String> issued = send(operator("/v1/operator/apps/" + APP + "/tokens").POST(HttpRequest.BodyPublishers.noBody()).build());
    assertThat(issued.statusCode()).as(issued.body()).isEqualTo(201);
    appToken = json.readTree(issued.body()).get("token").asString();

    String pitr = "/v1/apps/" + APP + "/addons/" + ADDON + "/pitr";
    try (Writer writer = new Writer(primary.port())) {
      // no event published by hand: the archiver asks for the first base, the worker takes it, the window opens
      JsonNode window = await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
          .until(() -> json.readTree(asApp(pitr).body()),
              w -> "streaming".equals(w.path("state").asString()) && !w.path("earliest").isNull() && !w.path("earliest").isMissingNode());
      Instant earliest = Instant.parse(window.get("earliest").asString());
      // the one base the archiver asked for, restorable from its end: the window's start
      assertThat(window.get("baseBackups")).hasSize(1);
      assertThat(window.get("baseBackups").get(0).get("restorableFrom").asString()).isEqualTo(earliest.toString());

      // and operators see it on the metrics endpoint: one addon's window, streaming
      String metrics = send(HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + "/actuator/prometheus")).GET().build()).body();
      assertThat(metrics).containsPattern("backstop_pitr_windows\\{[^}]*state=\"streaming\"[^}]*} 1\\.0")
          .containsPattern("backstop_pitr_windows\\{[^}]*state=\"broken\"[^}]*} 0\\.0");

      // latest follows the writes (WalArchived): wait until it is a few seconds past the base
      JsonNode later = await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
          .until(() -> json.readTree(asApp(pitr).body()),
              w -> !w.path("latest").isNull() && !w.path("latest").isMissingNode()
                  && Instant.parse(w.get("latest").asString()).isAfter(earliest.plusSeconds(4)));
      Instant latest = Instant.parse(later.get("latest").asString());
      assertThat(latest).isBefore(Instant.now().plusMillis(1));
      Instant nearBase = earliest.plusMillis(700).truncatedTo(ChronoUnit.MILLIS);
      Instant nearLatest = latest.minusMillis(150).truncatedTo(ChronoUnit.MILLIS);
      // the last target's commits must all be archived and visible before the rows are counted
      await().atMost(WAIT).until(() -> writer.acked.get() > 0 && Instant.now().isAfter(nearLatest.plusSeconds(1)));
      writer.close();
      assertThat((Object) writer.failure).isNull();
      Instant stoppedWriting = Instant.now();

      // idle, the server's WAL stops moving: latest keeps up with the clock rather than the last commit
      await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
          .until(() -> Instant.parse(json.readTree(asApp(pitr).body()).get("latest").asString()).isAfter(stoppedWriting.plusSeconds(2)));

      HttpResponse<String> before = asApp(pitr + "/restores", "{\"targetTime\":\"" + earliest.minusSeconds(30) + "\"}");
      assertThat(before.statusCode()).as(before.body()).isEqualTo(422);
      JsonNode problem = json.readTree(before.body());
      assertThat(before.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
      assertThat(problem.get("detail").asString()).contains("before the earliest restorable instant")
          .contains(earliest.toString());
      assertThat(problem.get("earliest").asString()).isEqualTo(earliest.toString());

      for (Instant target : List.of(nearBase, nearLatest)) {
        HttpResponse<String> asked = asApp(pitr + "/restores", "{\"targetTime\":\"" + target + "\"}");
        assertThat(asked.statusCode()).as(asked.body()).isEqualTo(202);
        String id = json.readTree(asked.body()).get("id").asString();
        JsonNode done = await().atMost(WAIT).pollInterval(Duration.ofMillis(300))
            .until(() -> json.readTree(asApp(pitr + "/restores/" + id).body()),
                r -> !"pending".equals(r.get("status").asString()) && !"running".equals(r.get("status").asString()));
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("done");

        HttpResponse<byte[]> archive = http.send(app("/v1/apps/" + APP + "/addons/" + ADDON + "/backups/"
            + done.get("backupId").asString() + "/archive").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(archive.statusCode()).isEqualTo(200);
        String restored = "restored_" + target.toEpochMilli();
        primary.psql("postgres", "create database " + restored);
        pgRestore(untar(archive.body()), restored);

        String expected = primary.psql("shop", "select count(*) || ':' || coalesce(max(id), 0) || ':' || md5(coalesce(string_agg(id::text, ','"
            + " order by id), '')) from numbered where pg_xact_commit_timestamp(xmin) <= '" + target + "'::timestamptz");
        String actual = primary.psql(restored, "select count(*) || ':' || coalesce(max(id), 0) || ':' || md5(coalesce(string_agg(id::text, ','"
            + " order by id), '')) from numbered");
        assertThat(actual).as("rows restored at " + target).isEqualTo(expected);
        assertThat(Long.parseLong(expected.split(":")[0])).as("rows committed by " + target).isPositive();
      }

      JsonNode listing = json.readTree(asApp("/v1/apps/" + APP + "/addons/" + ADDON + "/backups").body());
      List<String> kinds = new ArrayList<>();
      listing.forEach(b -> kinds.add(b.get("kind").asString()));
      // the results are listed like any backup; the base backup is not a backup customers download
      assertThat(kinds).containsExactly("pitr_restore", "pitr_restore");

      // the CLI shows the window to the second; the instant it shows first is one pitr-restore accepts
      Cli shown = cli("pitr");
      assertThat(shown.exit()).as(shown.err()).isZero();
      Instant shownFrom = earliest.truncatedTo(ChronoUnit.SECONDS).equals(earliest) ? earliest
          : earliest.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
      assertThat(shown.out()).startsWith("-----> Point-in-time recovery: streaming\n       Restorable from "
          + SHOWN.format(shownFrom) + " UTC to ");
      Cli restored = cli("pitr-restore", "--at", TYPED.format(shownFrom) + " UTC");
      assertThat(restored.exit()).as(restored.out() + restored.err()).isZero();
      assertThat(restored.out()).contains("-----> Restore finished: backup ");
      Cli refused = cli("pitr-restore", "--at", TYPED.format(earliest.minusSeconds(30)) + " UTC");
      assertThat(refused.exit()).isEqualTo(1);
      assertThat(refused.err()).contains("before the earliest restorable instant");
    }
  }

  private static final java.time.format.DateTimeFormatter SHOWN =
      java.time.format.DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss", java.util.Locale.ENGLISH).withZone(java.time.ZoneOffset.UTC);
  private static final java.time.format.DateTimeFormatter TYPED =
      java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(java.time.ZoneOffset.UTC);

  /** What the {@code backstop} CLI printed and how it exited. */
  private record Cli(int exit, String out, String err) {}

  private Cli cli(String... args) {
    var out = new java.io.StringWriter();
    var err = new java.io.StringWriter();
    List<String> all = new ArrayList<>(List.of("--app", APP, "--addon", ADDON));
    all.addAll(List.of(args));
    int exit = dev.backstop.cli.CliLauncher.run(all.toArray(String[]::new),
        Map.of("BACKSTOP_API_URL", backstop.gatewayUrl(), "BACKSTOP_TOKEN", appToken), java.time.ZoneId.of("UTC"),
        new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
    return new Cli(exit, out.toString(), err.toString());
  }

  private Path untar(byte[] archive) throws Exception {
    Path dir = Files.createTempDirectory(data, "download");
    Path file = Files.write(dir.resolve("archive.tar.zst"), archive);
    Process tar = new ProcessBuilder("tar", "-xf", file.toString(), "-C", dir.toString()).redirectErrorStream(true).start();
    String output = new String(tar.getInputStream().readAllBytes());
    assertThat(tar.waitFor()).as(output).isZero();
    Files.delete(file);
    try (var files = Files.list(dir)) {
      List<Path> all = files.toList();
      assertThat(all).hasSize(1);
      assertThat(all.get(0).getFileName().toString()).isEqualTo("shop.pgsql");
      return all.get(0);
    }
  }

  private void pgRestore(Path dump, String database) throws Exception {
    Process restore = new ProcessBuilder("pg_restore", "--no-owner", "-h", "127.0.0.1", "-p", Integer.toString(primary.port()),
        "-U", "postgres", "-d", database, dump.toString()).redirectErrorStream(true).start();
    String output = new String(restore.getInputStream().readAllBytes());
    assertThat(restore.waitFor()).as(output).isZero();
  }

  private HttpRequest.Builder operator(String path) {
    return HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + backstop.operatorToken());
  }

  private HttpRequest.Builder app(String path) {
    return HttpRequest.newBuilder(URI.create(backstop.gatewayUrl() + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + appToken);
  }

  private HttpResponse<String> asApp(String path) throws Exception {
    return send(app(path).GET().build());
  }

  private HttpResponse<String> asApp(String path, String body) throws Exception {
    return send(app(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private HttpResponse<String> send(HttpRequest request) throws Exception {
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Commits rows 1, 2, 3, … one per transaction, a few milliseconds apart, until closed. */
  private static final class Writer implements AutoCloseable {
    final AtomicLong acked = new AtomicLong();
    final AtomicBoolean done = new AtomicBoolean();
    volatile SQLException failure;
    final Thread thread;

    Writer(int port) {
      thread = Thread.ofPlatform().name("pitr-e2e-writer").start(() -> {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/shop", "postgres", "");
            PreparedStatement insert = c.prepareStatement("insert into numbered values (?, md5(?::text))")) {
          c.setAutoCommit(true);
          for (long id = 1; !done.get(); id++) {
            insert.setLong(1, id);
            insert.setLong(2, id);
            insert.executeUpdate();
            acked.set(id);
            Thread.sleep(5);
          }
        } catch (SQLException e) {
          failure = e;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }

    @Override
    public void close() throws InterruptedException {
      done.set(true);
      thread.join(10_000);
    }
  }
}
