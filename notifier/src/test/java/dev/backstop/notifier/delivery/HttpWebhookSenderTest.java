package dev.backstop.notifier.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.backstop.kit.webhook.WebhookUrlPolicy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.hc.client5.http.impl.InMemoryDnsResolver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What one attempt does against a real HTTP server on 127.0.0.1. */
class HttpWebhookSenderTest {

  private HttpServer server;
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/ok", exchange -> {
      seen.add("/ok " + exchange.getRequestHeaders().getFirst("webhook-id"));
      byte[] big = new byte[1 << 20];
      exchange.sendResponseHeaders(200, big.length);
      exchange.getResponseBody().write(big);
      exchange.close();
    });
    server.createContext("/redirect", exchange -> {
      seen.add("/redirect");
      exchange.getResponseHeaders().add("Location", "/ok");
      exchange.sendResponseHeaders(307, -1);
      exchange.close();
    });
    server.createContext("/slow", exchange -> {
      seen.add("/slow");
      try {
        Thread.sleep(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private String url(String host, String path) {
    return "http://" + host + ":" + server.getAddress().getPort() + path;
  }

  private HttpWebhookSender sender(boolean allowPrivate, InMemoryDnsResolver dns) {
    return new HttpWebhookSender(new WebhookUrlPolicy(true, allowPrivate), Duration.ofSeconds(2), Duration.ofSeconds(10),
        Duration.ofSeconds(1), 1024, 4, dns);
  }

  @Test
  void a_2xx_answer_is_a_delivery_and_only_a_bounded_part_of_its_body_is_read() throws Exception {
    try (var sender = sender(true, dns("hooks.example", "127.0.0.1"))) {
      var result = sender.post(url("hooks.example", "/ok"), Map.of("webhook-id", "msg_1"), "{}");

      assertThat(result.delivered()).isTrue();
      assertThat(result.httpStatus()).isEqualTo(200);
      assertThat(seen).containsExactly("/ok msg_1");
    }
  }

  @Test
  void a_name_that_resolves_to_loopback_at_delivery_time_is_refused_before_connecting() throws Exception {
    // passes the check at registration (a public-looking name), then resolves inside: DNS rebinding
    try (var sender = sender(false, dns("rebound.example", "127.0.0.1"))) {
      var result = sender.post("https://rebound.example:" + server.getAddress().getPort() + "/ok", Map.of(), "{}");

      assertThat(result.delivered()).isFalse();
      assertThat(result.httpStatus()).isNull();
      assertThat(result.error()).contains("127.0.0.1").contains("not public");
      assertThat(seen).isEmpty();
    }
  }

  @Test
  void a_redirect_is_not_followed_and_counts_as_a_failed_attempt() throws Exception {
    try (var sender = sender(true, dns("hooks.example", "127.0.0.1"))) {
      var result = sender.post(url("hooks.example", "/redirect"), Map.of(), "{}");

      assertThat(result.delivered()).isFalse();
      assertThat(result.error()).isEqualTo("HTTP 307");
      assertThat(seen).containsExactly("/redirect");
    }
  }

  @Test
  void an_endpoint_that_does_not_answer_is_cut_off_at_the_attempt_timeout() throws Exception {
    try (var sender = sender(true, dns("hooks.example", "127.0.0.1"))) {
      long start = System.nanoTime();
      var result = sender.post(url("hooks.example", "/slow"), Map.of(), "{}");

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      assertThat(result.delivered()).isFalse();
      assertThat(result.httpStatus()).isNull();
      assertThat(result.error()).contains("no answer within 1 s");
    }
  }

  private static InMemoryDnsResolver dns(String name, String address) throws Exception {
    InMemoryDnsResolver dns = new InMemoryDnsResolver();
    dns.add(name, InetAddress.getByName(address));
    return dns;
  }
}
