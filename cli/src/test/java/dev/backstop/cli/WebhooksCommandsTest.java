package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The webhook commands against a stand-in for the gateway's webhook endpoints. */
class WebhooksCommandsTest {

  private final JsonMapper json = JsonMapper.builder().build();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private HttpServer gateway;

  @BeforeEach
  void start() throws Exception {
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    gateway.createContext("/v1/apps/my-app/webhooks", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " " + body);
      switch (exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()) {
        case "POST /v1/apps/my-app/webhooks" -> {
          if (json.readTree(body).get("events").toString().contains("backup.exploded")) {
            answer(exchange, 400, "{\"title\":\"Invalid request\",\"status\":400,\"detail\":\"events[1] is not an event type\"}");
          } else {
            answer(exchange, 201, "{\"id\":\"wh_0a1b\",\"url\":\"https://hooks.example.com/x\",\"events\":[\"backup.failed\"],"
                + "\"status\":\"enabled\",\"secret\":\"whsec_c2VjcmV0\"}");
          }
        }
        case "GET /v1/apps/my-app/webhooks" -> answer(exchange, 200, "[{\"id\":\"wh_0a1b\",\"url\":\"https://hooks.example.com/x\","
            + "\"events\":[\"backup.failed\",\"backup.missed\"],\"status\":\"disabled\",\"disabledReason\":\"HTTP 500\",\"secret\":null}]");
        case "DELETE /v1/apps/my-app/webhooks/wh_0a1b" -> answer(exchange, 204, "");
        case "GET /v1/apps/my-app/webhooks/wh_0a1b/deliveries" -> answer(exchange, 200, "[{\"messageId\":\"msg_1\","
            + "\"event\":\"backup.failed\",\"status\":\"retrying\",\"attempts\":2,\"httpStatus\":500,\"lastError\":\"HTTP 500\"}]");
        default -> answer(exchange, 404, "{\"status\":404,\"detail\":\"no webhook wh_ffff in app my-app\"}");
      }
    });
    gateway.start();
  }

  private static void answer(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", status >= 400 ? "application/problem+json" : "application/json");
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  private int run(StringWriter out, StringWriter err, String... args) {
    return BackstopCli.run(args, Map.of("BACKSTOP_API_URL", "http://127.0.0.1:" + gateway.getAddress().getPort()),
        ZoneId.of("UTC"), new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void webhooks_add_sends_the_url_and_events_and_shows_the_secret_once() {
    StringWriter out = new StringWriter();
    int code = run(out, new StringWriter(), "--app", "my-app", "webhooks-add", "--url", "https://hooks.example.com/x",
        "--events", "backup.failed,backup.missed");

    assertThat(code).isZero();
    assertThat(requests).singleElement().asString().startsWith("POST /v1/apps/my-app/webhooks ")
        .contains("\"events\":[\"backup.failed\",\"backup.missed\"]").contains("\"url\":\"https://hooks.example.com/x\"");
    assertThat(out.toString()).isEqualTo("-----> Webhook wh_0a1b registered\n"
        + "       Signing secret (shown this once, keep it): whsec_c2VjcmV0\n");
  }

  @Test
  void webhooks_lists_the_endpoints_and_why_one_is_disabled() {
    StringWriter out = new StringWriter();
    int code = run(out, new StringWriter(), "--app", "my-app", "webhooks");

    assertThat(code).isZero();
    assertThat(out.toString()).contains("wh_0a1b").contains("https://hooks.example.com/x")
        .contains("backup.failed, backup.missed").contains("disabled (HTTP 500)").doesNotContain("whsec_");
  }

  @Test
  void webhooks_remove_and_deliveries_name_the_endpoint() {
    StringWriter out = new StringWriter();
    assertThat(run(out, new StringWriter(), "--app", "my-app", "webhooks-remove", "--webhook", "wh_0a1b")).isZero();
    assertThat(run(out, new StringWriter(), "--app", "my-app", "webhooks-deliveries", "--webhook", "wh_0a1b")).isZero();

    assertThat(out.toString()).contains("-----> Webhook wh_0a1b removed").contains("msg_1").contains("retrying");
  }

  @Test
  void a_refused_registration_prints_the_gateways_reason_and_exits_1() {
    StringWriter err = new StringWriter();
    int code = run(new StringWriter(), err, "--app", "my-app", "webhooks-add", "--url", "https://hooks.example.com/x",
        "--events", "backup.failed,backup.exploded");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).isEqualTo(" !     events[1] is not an event type\n");
  }

  @Test
  void an_unknown_endpoint_is_an_error_not_a_success() {
    StringWriter err = new StringWriter();
    int code = run(new StringWriter(), err, "--app", "my-app", "webhooks-remove", "--webhook", "wh_ffff");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("no webhook wh_ffff");
  }
}
