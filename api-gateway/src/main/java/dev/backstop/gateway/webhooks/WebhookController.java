package dev.backstop.gateway.webhooks;

import dev.backstop.gateway.config.GatewayProperties;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.kit.webhook.WebhookEventTypes;
import dev.backstop.kit.webhook.WebhookSignature;
import dev.backstop.kit.webhook.WebhookUrlPolicy;
import dev.backstop.kit.webhook.WebhookUrlProperties;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.events.WebhookEndpointRemoved;
import dev.backstop.schemas.secret.SecretSealer;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * An app's webhook endpoints: registered, listed and deleted here, delivered to by the notifier, which
 * hears of them on {@code backstop.webhooks}. The signing secret is made here and shown once, in the
 * answer to the registration; it travels only sealed, and the gateway keeps none.
 */
@RestController
@RequestMapping("/v1/apps/{appName}/webhooks")
public class WebhookController {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int DELIVERIES_SHOWN = 100;

  private final WebhookEndpoints endpoints;
  private final WebhookDeliveryLog deliveries;
  private final EventPublisher publisher;
  private final SecretSealer sealer;
  private final WebhookUrlPolicy urls;
  private final GatewayProperties properties;
  private final Clock clock;

  public WebhookController(WebhookEndpoints endpoints, WebhookDeliveryLog deliveries, EventPublisher publisher,
      SecretSealer sealer, WebhookUrlProperties urls, GatewayProperties properties, Clock clock) {
    this.endpoints = endpoints;
    this.deliveries = deliveries;
    this.publisher = publisher;
    this.sealer = sealer;
    this.urls = urls.policy();
    this.properties = properties;
    this.clock = clock;
  }

  /** A registration: where to deliver, and which events. */
  public record WebhookRequest(String url, List<String> events) {}

  /** An endpoint as listed; {@code secret} only in the answer to its registration. */
  public record WebhookView(String id, String url, List<String> events, Instant createdAt, String status,
      Instant disabledAt, String disabledReason, String secret) {}

  @PostMapping
  public ResponseEntity<WebhookView> register(@PathVariable String appName, @RequestBody WebhookRequest request) {
    if (request == null) {
      throw ApiProblem.badRequest("a body with url and events is required");
    }
    String url;
    try {
      url = urls.check(request.url()).toString();
    } catch (WebhookUrlPolicy.RefusedUrl e) {
      throw ApiProblem.badRequest(e.getMessage());
    }
    List<String> events = events(request.events());
    if (endpoints.ofApp(appName).size() >= properties.maxWebhooksPerApp()) {
      throw ApiProblem.conflict("too-many-webhooks", "Too many webhook endpoints", "app " + appName + " has "
          + properties.maxWebhooksPerApp() + " webhook endpoints, the most allowed: delete one first");
    }
    String id = "wh_" + HexFormat.of().formatHex(randomBytes(10));
    String secret = WebhookSignature.newSecret();
    Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    // published first: the topic is the record; the local copy only makes the next list see it at once
    publisher.publish(Topics.WEBHOOKS, appName,
        new WebhookEndpointRegistered(id, appName, url, List.copyOf(events), sealer.seal(id, secret), now));
    endpoints.add(new WebhookEndpoints.Endpoint(id, appName, url, events, now, false, null, null));
    return ResponseEntity.created(URI.create("/v1/apps/" + appName + "/webhooks/" + id))
        .body(new WebhookView(id, url, events, now, "enabled", null, null, secret));
  }

  @GetMapping
  public List<WebhookView> list(@PathVariable String appName) {
    return endpoints.ofApp(appName).stream().map(WebhookController::view).toList();
  }

  @DeleteMapping("/{webhookId}")
  public ResponseEntity<Void> remove(@PathVariable String appName, @PathVariable String webhookId) {
    endpoints.find(appName, webhookId).orElseThrow(() -> notFound(appName, webhookId));
    publisher.publish(Topics.WEBHOOKS, appName, new WebhookEndpointRemoved(webhookId, appName, clock.instant()));
    endpoints.markRemoved(webhookId);
    return ResponseEntity.noContent().build();
  }

  @GetMapping("/{webhookId}/deliveries")
  public List<WebhookDeliveryLog.Entry> deliveries(@PathVariable String appName, @PathVariable String webhookId) {
    endpoints.find(appName, webhookId).orElseThrow(() -> notFound(appName, webhookId));
    return deliveries.of(webhookId, DELIVERIES_SHOWN);
  }

  private static List<String> events(List<String> requested) {
    if (requested == null || requested.isEmpty()) {
      throw ApiProblem.badRequest("events must name at least one of " + String.join(", ", WebhookEventTypes.ALL));
    }
    Set<String> events = new LinkedHashSet<>();
    for (int i = 0; i < requested.size(); i++) {
      String event = requested.get(i);
      if (event == null || !WebhookEventTypes.ALL.contains(event)) {
        throw ApiProblem.badRequest("events[" + i + "] is not an event type: use " + String.join(", ", WebhookEventTypes.ALL));
      }
      events.add(event);
    }
    return List.copyOf(events);
  }

  private static WebhookView view(WebhookEndpoints.Endpoint e) {
    return new WebhookView(e.id(), e.url(), e.events(), e.createdAt(), e.disabledAt() == null ? "enabled" : "disabled",
        e.disabledAt(), e.disabledReason(), null);
  }

  private static ApiProblem notFound(String appName, String webhookId) {
    return ApiProblem.notFound("no webhook " + webhookId + " in app " + appName);
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
