package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code pitr} against a stand-in for the gateway's window endpoint. */
class PitrCommandTest {

  private HttpServer gateway;

  @BeforeEach
  void start() throws Exception {
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    gateway.createContext("/v1/apps/my-app/addons/", exchange -> {
      boolean known = exchange.getRequestURI().getPath().equals("/v1/apps/my-app/addons/pg/pitr");
      String body = known
          ? "{\"state\":\"streaming\",\"earliest\":\"2026-11-24T10:00:29Z\",\"latest\":\"2026-12-01T15:10:00Z\",\"reason\":null,\"baseBackups\":[]}"
          : "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no addon nope in app my-app\"}";
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", known ? "application/json" : "application/problem+json");
      exchange.sendResponseHeaders(known ? 200 : 404, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  @Test
  void the_window_is_printed_in_the_users_zone_and_an_unknown_addon_says_why_and_exits_1() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var env = Map.of("BACKSTOP_API_URL", "http://127.0.0.1:" + gateway.getAddress().getPort());

    int code = BackstopCli.run(new String[] {"--app", "my-app", "--addon", "pg", "pitr"}, env, ZoneId.of("America/New_York"),
        new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).isZero();
    assertThat(out.toString()).isEqualTo("""
        -----> Point-in-time recovery: streaming
               Restorable from Tue, 24 Nov 2026 05:00:29 EST to Tue, 01 Dec 2026 10:10:00 EST
        """);

    int failed = BackstopCli.run(new String[] {"--app", "my-app", "--addon", "nope", "pitr"}, env, ZoneId.of("UTC"),
        new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    assertThat(failed).isEqualTo(1);
    assertThat(err.toString()).isEqualTo(" !     no addon nope in app my-app\n");
  }
}
