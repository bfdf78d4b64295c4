package dev.backstop.notifier.delivery;

import dev.backstop.notifier.endpoints.Endpoint;
import java.time.Instant;

/** Where the outcome of each attempt, and an endpoint's disabling, are told (to the gateway, by events). */
public interface DeliveryLog {

  void attempted(Delivery delivery, int attempt, Delivery.Status status, WebhookSender.Result result, Instant at,
      Instant nextAttemptAt);

  void disabled(Endpoint endpoint, Instant at);
}
