package dev.backstop.notifier.messaging;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.notifier.delivery.Delivery;
import dev.backstop.notifier.delivery.DeliveryLog;
import dev.backstop.notifier.delivery.WebhookSender;
import dev.backstop.notifier.endpoints.Endpoint;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import dev.backstop.schemas.events.WebhookDeliveryOutcome;
import dev.backstop.schemas.events.WebhookEndpointDisabled;
import java.time.Instant;

/**
 * {@link DeliveryLog} as events: attempts on {@code backstop.webhook-deliveries}, which the gateway
 * projects into the delivery log it serves, and disabling on {@code backstop.webhooks}, next to the
 * registrations. Services meet only on topics; the gateway keeps answering while the notifier is down.
 */
public class KafkaDeliveryLog implements DeliveryLog {

  private final EventPublisher publisher;

  public KafkaDeliveryLog(EventPublisher publisher) {
    this.publisher = publisher;
  }

  @Override
  public void attempted(Delivery delivery, int attempt, Delivery.Status status, WebhookSender.Result result, Instant at,
      Instant nextAttemptAt) {
    WebhookDeliveryOutcome outcome = switch (status) {
      case DELIVERED -> WebhookDeliveryOutcome.DELIVERED;
      case PENDING -> WebhookDeliveryOutcome.RETRYING;
      case GAVE_UP -> WebhookDeliveryOutcome.GAVE_UP;
      case CANCELLED -> WebhookDeliveryOutcome.CANCELLED;
    };
    publisher.publish(Topics.WEBHOOK_DELIVERIES, delivery.endpointId(), new WebhookDeliveryAttempted(delivery.endpointId(),
        delivery.appName(), delivery.messageId(), delivery.eventType(), attempt, outcome, result.httpStatus(), result.error(),
        at, nextAttemptAt));
  }

  @Override
  public void disabled(Endpoint endpoint, Instant at) {
    publisher.publish(Topics.WEBHOOKS, endpoint.appName(), new WebhookEndpointDisabled(endpoint.id(), endpoint.appName(), at,
        endpoint.consecutiveFailures(), endpoint.failingSince(), endpoint.lastError()));
  }
}
