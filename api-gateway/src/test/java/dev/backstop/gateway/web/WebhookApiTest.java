package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.clearInvocations;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import dev.backstop.gateway.webhooks.WebhookDeliveryLog;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import dev.backstop.schemas.events.WebhookDeliveryOutcome;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.events.WebhookEndpointRemoved;
import dev.backstop.schemas.secret.SecretSealer;
import java.net.http.HttpRequest.BodyPublishers;
import java.time.Instant;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mockito.ArgumentCaptor;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The webhook endpoints' API against the running gateway: what it publishes, what it shows, what it refuses. */
class WebhookApiTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Autowired SecretSealer sealer;
  @Autowired WebhookDeliveryLog deliveryLog;

  private Answer post(String app, String body) {
    return send(asOperator("/v1/apps/" + app + "/webhooks").header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString(body)));
  }

  @Test
  void a_registered_endpoint_shows_its_secret_once_and_reaches_the_notifier_sealed() {
    clearInvocations(publisher);
    Answer created = post("hooked-app", """
        {"url":"https://hooks.example.com/backstop","events":["backup.failed","pitr.window-broken","backup.failed"]}""");

    assertThat(created.status()).isEqualTo(201);
    JsonNode view = JSON.readTree(created.body());
    String id = view.get("id").asString();
    String secret = view.get("secret").asString();
    assertThat(id).matches("wh_[0-9a-f]{20}");
    assertThat(secret).startsWith("whsec_");
    assertThat(java.util.Base64.getDecoder().decode(secret.substring(6))).hasSize(32);
    assertThat(view.get("events").toString()).isEqualTo("[\"backup.failed\",\"pitr.window-broken\"]");
    assertThat(created.header("location")).isEqualTo("/v1/apps/hooked-app/webhooks/" + id);

    ArgumentCaptor<SpecificRecord> event = ArgumentCaptor.forClass(SpecificRecord.class);
    verify(publisher).publish(eq(Topics.WEBHOOKS), eq("hooked-app"), event.capture());
    WebhookEndpointRegistered registered = (WebhookEndpointRegistered) event.getValue();
    assertThat(registered.getUrl()).isEqualTo("https://hooks.example.com/backstop");
    assertThat(registered.toString()).doesNotContain(secret.substring(6));
    assertThat(sealer.open(id, registered.getSecret())).isEqualTo(secret);

    Answer listed = send(asOperator("/v1/apps/hooked-app/webhooks"));
    assertThat(listed.status()).isEqualTo(200);
    assertThat(listed.body()).contains(id).contains("\"status\":\"enabled\"").doesNotContain("whsec_");
    assertThat(stored().toString()).doesNotContain(secret.substring(6));

    Answer removed = send(asOperator("/v1/apps/hooked-app/webhooks/" + id).DELETE());
    assertThat(removed.status()).isEqualTo(204);
    verify(publisher).publish(eq(Topics.WEBHOOKS), eq("hooked-app"), any(WebhookEndpointRemoved.class));
    assertThat(send(asOperator("/v1/apps/hooked-app/webhooks")).body()).doesNotContain(id);
    assertThat(send(asOperator("/v1/apps/hooked-app/webhooks/" + id).DELETE()).status()).isEqualTo(404);
  }

  @Test
  void the_delivery_log_shows_each_message_at_its_latest_attempt_whatever_order_attempts_arrive_in() {
    JsonNode created = JSON.readTree(post("logged-app", """
        {"url":"https://hooks.example.com/x","events":["backup.failed"]}""").body());
    String id = created.get("id").asString();
    Instant at = Instant.parse("2026-12-01T10:00:00Z");
    deliveryLog.record(new WebhookDeliveryAttempted(id, "logged-app", "msg_1", "backup.failed", 2, WebhookDeliveryOutcome.RETRYING,
        500, "HTTP 500", at.plusSeconds(5), at.plusSeconds(305)));
    // late and stale: a redelivery of the first attempt
    deliveryLog.record(new WebhookDeliveryAttempted(id, "logged-app", "msg_1", "backup.failed", 1, WebhookDeliveryOutcome.RETRYING,
        null, "connect timed out", at, at.plusSeconds(5)));

    Answer log = send(asOperator("/v1/apps/logged-app/webhooks/" + id + "/deliveries"));

    assertThat(log.status()).isEqualTo(200);
    JsonNode entry = JSON.readTree(log.body()).get(0);
    assertThat(entry.get("messageId").asString()).isEqualTo("msg_1");
    assertThat(entry.get("status").asString()).isEqualTo("retrying");
    assertThat(entry.get("attempts").asInt()).isEqualTo(2);
    assertThat(entry.get("httpStatus").asInt()).isEqualTo(500);
    assertThat(entry.get("lastError").asString()).isEqualTo("HTTP 500");
    assertThat(send(asOperator("/v1/apps/other-app/webhooks/" + id + "/deliveries")).status()).as("another app's endpoint").isEqualTo(404);
  }

  @Test
  void an_app_may_not_register_more_endpoints_than_allowed() {
    for (int i = 0; i < 10; i++) {
      assertThat(post("busy-app", "{\"url\":\"https://hooks.example.com/" + i + "\",\"events\":[\"backup.failed\"]}").status())
          .isEqualTo(201);
    }
    clearInvocations(publisher);

    Answer refused = post("busy-app", "{\"url\":\"https://hooks.example.com/11\",\"events\":[\"backup.failed\"]}");

    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.header("content-type")).startsWith("application/problem+json");
    assertThat(refused.body()).contains("10 webhook endpoints");
    verifyNoInteractions(publisher);
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of("plain http", "{\"url\":\"http://hooks.example.com/x\",\"events\":[\"backup.failed\"]}", "url must be https"),
        Arguments.of("loopback address", "{\"url\":\"https://127.0.0.1/x\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("loopback in another notation", "{\"url\":\"https://2130706433/x\",\"events\":[\"backup.failed\"]}", "invalid host"),
        Arguments.of("IPv6 loopback", "{\"url\":\"https://[::1]/x\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("IPv4-mapped private", "{\"url\":\"https://[::ffff:10.0.0.1]/x\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("private range", "{\"url\":\"https://192.168.1.20/x\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("cloud metadata", "{\"url\":\"https://169.254.169.254/latest\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("localhost", "{\"url\":\"https://localhost:8443/x\",\"events\":[\"backup.failed\"]}", "only public addresses"),
        Arguments.of("credentials in the URL", "{\"url\":\"https://u:p@hooks.example.com/x\",\"events\":[\"backup.failed\"]}", "user name"),
        Arguments.of("not a URL", "{\"url\":\"https://exa mple.com\",\"events\":[\"backup.failed\"]}", "url must be ASCII"),
        Arguments.of("no url", "{\"events\":[\"backup.failed\"]}", "url is required"),
        Arguments.of("url of the wrong type", "{\"url\":123,\"events\":[\"backup.failed\"]}", "url"),
        Arguments.of("unknown event", "{\"url\":\"https://hooks.example.com/x\",\"events\":[\"backup.failed\",\"backup.exploded\"]}",
            "events[1] is not an event type"),
        Arguments.of("no events", "{\"url\":\"https://hooks.example.com/x\",\"events\":[]}", "events must name at least one"),
        Arguments.of("events as a string", "{\"url\":\"https://hooks.example.com/x\",\"events\":\"backup.failed\"}", "events"),
        Arguments.of("unknown field", "{\"url\":\"https://hooks.example.com/x\",\"events\":[\"backup.failed\"],\"secret\":\"x\"}", "secret"),
        Arguments.of("not JSON", "url=https://hooks.example.com", ""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void bad_registrations_are_refused_with_a_problem_document_and_publish_nothing(String name, String body, String detail) {
    clearInvocations(publisher);

    Answer answer = post("refused-app", body);

    assertThat(answer.status()).isEqualTo(400);
    assertThat(answer.header("content-type")).startsWith("application/problem+json");
    assertThat(answer.body()).contains(detail);
    verifyNoInteractions(publisher);
  }

  @Test
  void malformed_webhook_ids_and_unknown_ones_are_4xx() {
    assertThat(send(asOperator("/v1/apps/refused-app/webhooks/not-an-id").DELETE()).status()).isEqualTo(400);
    assertThat(send(asOperator("/v1/apps/refused-app/webhooks/wh_00/deliveries")).status()).isEqualTo(404);
    assertThat(send(request("/v1/apps/refused-app/webhooks")).status()).isEqualTo(401);
  }
}
