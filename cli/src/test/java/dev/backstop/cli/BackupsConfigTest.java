package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code backups-config} against a stand-in for the gateway's schedule endpoint that keeps the schedule as it is told. */
class BackupsConfigTest {

  private final JsonMapper json = JsonMapper.builder().build();
  private final List<JsonNode> changes = new ArrayList<>();
  private HttpServer gateway;
  private boolean enabled = false; // the schedule starts disabled

  @BeforeEach
  void start() throws Exception {
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    gateway.createContext("/v1/apps/my-app/addons/pg/schedule", exchange -> {
      JsonNode change = json.readTree(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      changes.add(change);
      if (change.has("enabled")) {
        enabled = change.get("enabled").asBoolean();
      }
      String message = enabled ? "Periodic backups will be done daily at 4:00 UTC" : "Periodic backups are disabled";
      byte[] body = ("{\"enabled\":" + enabled + ",\"hour\":4,\"timezone\":\"UTC\",\"message\":\"" + message + "\"}")
          .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  private int run(StringWriter out, String... args) {
    return BackstopCli.run(args, Map.of("BACKSTOP_API_URL", "http://127.0.0.1:" + gateway.getAddress().getPort()),
        ZoneId.of("Europe/Paris"), new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
  }

  @Test
  void setting_a_time_on_a_disabled_schedule_turns_it_back_on() {
    StringWriter out = new StringWriter();
    int code = run(out, "--app", "my-app", "--addon", "pg", "backups-config", "--schedule-at", "4:00 UTC");

    assertThat(code).isZero();
    assertThat(out.toString()).isEqualTo("-----> Periodic backups will be done daily at 4:00 UTC\n");
    assertThat(changes).singleElement().satisfies(c -> {
      assertThat(c.get("scheduleAt").asString()).isEqualTo("4:00 UTC");
      assertThat(c.get("enabled").asBoolean()).isTrue();
    });
  }

  @Test
  void unschedule_turns_the_daily_backups_off() {
    enabled = true;
    StringWriter out = new StringWriter();
    int code = run(out, "--app", "my-app", "--addon", "pg", "backups-config", "--unschedule");

    assertThat(code).isZero();
    assertThat(out.toString()).isEqualTo("-----> Periodic backups are disabled\n");
    assertThat(changes).singleElement().satisfies(c -> {
      assertThat(c.get("enabled").asBoolean()).isFalse();
      assertThat(c.has("scheduleAt")).isFalse();
    });
  }

  @Test
  void a_time_and_unschedule_together_are_refused_before_any_call() {
    int code = run(new StringWriter(), "--app", "my-app", "--addon", "pg", "backups-config", "--schedule-at", "4", "--unschedule");
    assertThat(code).isEqualTo(2);
    assertThat(changes).isEmpty();
  }
}
