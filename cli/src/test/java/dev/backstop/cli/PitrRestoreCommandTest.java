package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code pitr-restore} against a stand-in gateway whose restore runs through its phases, then is downloaded. */
class PitrRestoreCommandTest {

  private final JsonMapper json = JsonMapper.builder().build();
  private final List<JsonNode> requests = new ArrayList<>();
  private final AtomicInteger polls = new AtomicInteger();
  private final byte[] archive = "archive bytes".getBytes(StandardCharsets.UTF_8);
  private HttpServer gateway;
  private String failure;
  @TempDir Path dir;

  @BeforeEach
  void start() throws Exception {
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String base = "/v1/apps/my-app/addons/pg";
    gateway.createContext(base + "/pitr/restores", exchange -> {
      if (exchange.getRequestMethod().equals("POST")) {
        requests.add(json.readTree(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
        send(exchange, 202, "{\"id\":\"r1\",\"status\":\"pending\"}");
        return;
      }
      int poll = polls.incrementAndGet();
      String body = switch (poll) {
        case 1 -> "{\"id\":\"r1\",\"status\":\"pending\",\"phase\":null,\"progress\":null}";
        case 2 -> "{\"id\":\"r1\",\"status\":\"running\",\"phase\":\"replaying-wal\",\"progress\":{\"done\":50331648,\"total\":100663296,\"etaSeconds\":12}}";
        default -> failure != null
            ? "{\"id\":\"r1\",\"status\":\"failed\",\"reason\":\"" + failure + "\"}"
            : "{\"id\":\"r1\",\"status\":\"done\",\"backupId\":\"r1\"}";
      };
      send(exchange, 200, body);
    });
    gateway.createContext(base + "/backups/r1", exchange -> {
      if (exchange.getRequestURI().getPath().endsWith("/archive")) {
        exchange.getResponseHeaders().add("Content-Type", "application/zstd");
        exchange.sendResponseHeaders(200, archive.length);
        exchange.getResponseBody().write(archive);
        exchange.close();
        return;
      }
      send(exchange, 200, "{\"id\":\"r1\",\"status\":\"done\",\"size\":" + archive.length + ",\"archiveName\":\"20261201130230_db.tar.zst\","
          + "\"sha256\":\"" + sha256(archive) + "\"}");
    });
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  @Test
  void restores_to_a_local_time_shows_the_phases_and_downloads_the_result() throws Exception {
    StringWriter out = new StringWriter();
    Path file = dir.resolve("restored.tar.zst");
    int code = run(out, "--app", "my-app", "--addon", "pg", "pitr-restore", "--at", "2026-12-01 14:02:30", "--download",
        "-o", file.toString());

    assertThat(code).isZero();
    assertThat(requests).singleElement().satisfies(r ->
        assertThat(r.get("targetTime").asString()).isEqualTo("2026-12-01T13:02:30Z")); // Paris is UTC+1 in December
    assertThat(out.toString()).contains("replaying WAL 48.00 MiB / 96.00 MiB").contains("50.00%, about 12 s left")
        .contains("-----> Restore finished: backup r1").endsWith("===> restored.tar.zst\n");
    assertThat(Files.readAllBytes(file)).isEqualTo(archive);
  }

  @Test
  void a_failed_restore_prints_why_and_exits_1() {
    failure = "the recovery failed";
    StringWriter err = new StringWriter();
    int code = BackstopCli.run(new String[] {"--app", "my-app", "--addon", "pg", "pitr-restore", "--at", "2026-12-01 14:02:30 UTC"},
        Map.of("BACKSTOP_API_URL", url()), ZoneId.of("Europe/Paris"), new PrintWriter(new StringWriter(), true),
        new PrintWriter(err, true), Duration.ZERO);
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains(" !     Restore failed: the recovery failed");
    assertThat(requests.getFirst().get("targetTime").asString()).isEqualTo("2026-12-01T14:02:30Z");
  }

  @Test
  void times_are_read_in_the_machines_zone_unless_they_name_one() {
    ZoneId paris = ZoneId.of("Europe/Paris");
    assertThat(Format.instantAt("2026-12-01 14:02:30", paris)).isEqualTo(Instant.parse("2026-12-01T13:02:30Z"));
    assertThat(Format.instantAt("2026-07-01 14:02", paris)).isEqualTo(Instant.parse("2026-07-01T12:02:00Z"));
    assertThat(Format.instantAt("2026-12-01 14:02:30.250 UTC", paris)).isEqualTo(Instant.parse("2026-12-01T14:02:30.250Z"));
    assertThat(Format.instantAt("2026-12-01 14:02:30 America/New_York", paris)).isEqualTo(Instant.parse("2026-12-01T19:02:30Z"));
    assertThat(Format.instantAt("2026-12-01 14:02:30 +05:30", paris)).isEqualTo(Instant.parse("2026-12-01T08:32:30Z"));
    assertThat(Format.instantAt("2026-12-01T14:02:30Z", paris)).isEqualTo(Instant.parse("2026-12-01T14:02:30Z"));
  }

  @Test
  void an_unreadable_time_is_a_usage_error_and_nothing_is_requested() {
    StringWriter err = new StringWriter();
    int code = BackstopCli.run(new String[] {"--app", "my-app", "--addon", "pg", "pitr-restore", "--at", "yesterday"},
        Map.of("BACKSTOP_API_URL", url()), ZoneId.of("UTC"), new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
        Duration.ZERO);
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("not a time: yesterday");
    assertThat(requests).isEmpty();
  }

  private int run(StringWriter out, String... args) {
    return BackstopCli.run(args, Map.of("BACKSTOP_API_URL", url()), ZoneId.of("Europe/Paris"), new PrintWriter(out, true),
        new PrintWriter(new StringWriter(), true), Duration.ZERO);
  }

  private String url() {
    return "http://127.0.0.1:" + gateway.getAddress().getPort();
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
