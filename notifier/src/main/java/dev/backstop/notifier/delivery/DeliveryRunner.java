package dev.backstop.notifier.delivery;

import dev.backstop.notifier.endpoints.Endpoint;
import dev.backstop.notifier.endpoints.Endpoints;
import dev.backstop.kit.webhook.WebhookSignature;
import dev.backstop.schemas.events.SealedSecret;
import dev.backstop.schemas.secret.SecretSealer;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attempts due deliveries, off the consumers' threads. A poller looks for due deliveries every
 * {@code pollInterval}; each one is leased in the store (so another instance leaves it alone) and run
 * on a pool of {@code workers} threads, never two at once for one endpoint: a slow or hanging endpoint
 * holds one worker, at most until the attempt timeout, and its other deliveries wait for it while every
 * other endpoint's go on. A failed attempt is scheduled again by the {@link RetrySchedule}; a run of
 * failures long enough disables the endpoint, once, with an event.
 */
public final class DeliveryRunner implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DeliveryRunner.class);

  /** How a runner behaves. */
  public record Settings(int workers, Duration pollInterval, Duration leaseTime, int disableAfterFailures,
      Duration disableAfter) {}

  private final Deliveries deliveries;
  private final Endpoints endpoints;
  private final WebhookSender sender;
  private final DeliveryLog deliveryLog;
  private final SecretSealer sealer;
  private final RetrySchedule retries;
  private final Clock clock;
  private final Settings settings;
  private final Set<String> busyEndpoints = ConcurrentHashMap.newKeySet();
  private final ExecutorService workers;
  private final ScheduledExecutorService poller;

  public DeliveryRunner(Deliveries deliveries, Endpoints endpoints, WebhookSender sender, DeliveryLog deliveryLog,
      SecretSealer sealer, RetrySchedule retries, Clock clock, Settings settings) {
    this.deliveries = deliveries;
    this.endpoints = endpoints;
    this.sender = sender;
    this.deliveryLog = deliveryLog;
    this.sealer = sealer;
    this.retries = retries;
    this.clock = clock;
    this.settings = settings;
    this.workers = Executors.newFixedThreadPool(settings.workers(), Thread.ofPlatform().name("webhook-", 0).factory());
    this.poller = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("webhook-poller").daemon().factory());
  }

  public void start() {
    poller.scheduleWithFixedDelay(this::pollSafely, 0, settings.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
  }

  private void pollSafely() {
    try {
      poll();
    } catch (RuntimeException e) {
      log.warn("looking for due webhook deliveries failed, trying again: {}", e.toString());
    }
  }

  /** Starts what is due, as far as free workers and free endpoints allow. */
  void poll() {
    Instant now = clock.instant();
    List<Delivery> due = deliveries.due(now, settings.workers() * 8);
    for (Delivery delivery : due) {
      if (busyEndpoints.size() >= settings.workers()) {
        return;
      }
      if (!busyEndpoints.add(delivery.endpointId())) {
        continue;
      }
      boolean started = false;
      try {
        if (deliveries.lease(delivery.id(), delivery.attempts(), now, now.plus(settings.leaseTime()))) {
          workers.execute(() -> {
            try {
              attempt(delivery);
            } catch (RuntimeException e) {
              log.warn("webhook delivery {} to endpoint {} failed unexpectedly; retried after its lease: {}",
                  delivery.messageId(), delivery.endpointId(), e.toString());
            } finally {
              busyEndpoints.remove(delivery.endpointId());
            }
          });
          started = true;
        }
      } catch (RejectedExecutionException e) {
        // shutting down: the lease runs out and another instance (or the next start) takes it
      } finally {
        if (!started) {
          busyEndpoints.remove(delivery.endpointId());
        }
      }
    }
  }

  void attempt(Delivery delivery) {
    int attempt = delivery.attempts() + 1;
    Optional<Endpoint> found = endpoints.find(delivery.endpointId());
    if (found.isEmpty() || found.get().state() != Endpoint.State.ACTIVE) {
      Instant at = clock.instant();
      WebhookSender.Result none = new WebhookSender.Result(null,
          found.isEmpty() || found.get().state() == Endpoint.State.REMOVED ? "endpoint removed" : "endpoint disabled");
      deliveries.recordAttempt(delivery.id(), attempt, Delivery.Status.CANCELLED, at, null, null, none.error());
      deliveryLog.attempted(delivery, attempt, Delivery.Status.CANCELLED, none, at, null);
      return;
    }
    Endpoint endpoint = found.get();
    WebhookSender.Result result;
    try {
      String secret = sealer.open(endpoint.id(), new SealedSecret(endpoint.secretKeyId(), ByteBuffer.wrap(endpoint.secretCiphertext())));
      long timestamp = clock.instant().getEpochSecond();
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put("webhook-id", delivery.messageId());
      headers.put("webhook-timestamp", Long.toString(timestamp));
      headers.put("webhook-signature", WebhookSignature.sign(secret, delivery.messageId(), timestamp, delivery.body()));
      result = sender.post(endpoint.url(), headers, delivery.body());
    } catch (IllegalStateException e) {
      // sealed under another BACKSTOP_SECRETS_KEY: nothing is sent unsigned; a failed attempt, retried as any other
      log.warn("webhook endpoint {}: {}", endpoint.id(), e.getMessage());
      result = new WebhookSender.Result(null, "the signing secret does not open with this notifier's key");
    }
    Instant at = clock.instant();
    if (result.delivered()) {
      deliveries.recordAttempt(delivery.id(), attempt, Delivery.Status.DELIVERED, at, null, result.httpStatus(), null);
      endpoints.recordSuccess(endpoint.id());
      deliveryLog.attempted(delivery, attempt, Delivery.Status.DELIVERED, result, at, null);
      return;
    }
    Instant next = retries.after(attempt, at);
    Delivery.Status status = next == null ? Delivery.Status.GAVE_UP : Delivery.Status.PENDING;
    deliveries.recordAttempt(delivery.id(), attempt, status, at, next, result.httpStatus(), result.error());
    deliveryLog.attempted(delivery, attempt, status, result, at, next);
    endpoints.recordFailure(endpoint.id(), at, result.error()).ifPresent(after -> disableIfFailingTooLong(after, at));
  }

  private void disableIfFailingTooLong(Endpoint endpoint, Instant now) {
    boolean longRun = endpoint.consecutiveFailures() >= settings.disableAfterFailures()
        && endpoint.failingSince() != null
        && !endpoint.failingSince().plus(settings.disableAfter()).isAfter(now);
    if (longRun && endpoint.state() == Endpoint.State.ACTIVE) {
      // told first, then stored: a failure in between tells it again at the next failed attempt, never not at all
      deliveryLog.disabled(endpoint, now);
      if (endpoints.disable(endpoint.id())) {
        log.info("webhook endpoint {} of app {} disabled: {} failed attempts in a row since {}", endpoint.id(),
            endpoint.appName(), endpoint.consecutiveFailures(), endpoint.failingSince());
      }
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
    workers.shutdown();
    try {
      if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      workers.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
