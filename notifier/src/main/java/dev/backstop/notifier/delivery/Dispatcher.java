package dev.backstop.notifier.delivery;

import dev.backstop.notifier.endpoints.Endpoint;
import dev.backstop.notifier.endpoints.Endpoints;
import dev.backstop.notifier.events.Notification;
import dev.backstop.notifier.events.RecentNotifications;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Turns notifications into deliveries, one per interested endpoint, from either side: a notification
 * read goes to the endpoints known, an endpoint registered gets the recent notifications it wants. The
 * topics are read independently, so either may come first; both lead to the same deliveries, each added
 * once ({@link Deliveries#addIfAbsent}). Nothing here sends: the {@link DeliveryRunner} does, so a
 * consumer thread never waits on an endpoint.
 */
public final class Dispatcher {

  private final Endpoints endpoints;
  private final Deliveries deliveries;
  private final RecentNotifications recent;
  private final Clock clock;
  private final Duration maxEventAge;

  public Dispatcher(Endpoints endpoints, Deliveries deliveries, RecentNotifications recent, Clock clock, Duration maxEventAge) {
    this.endpoints = endpoints;
    this.deliveries = deliveries;
    this.recent = recent;
    this.clock = clock;
    this.maxEventAge = maxEventAge;
  }

  /** A notification read from a topic. */
  public void notify(Notification notification) {
    if (notification.occurredAt().isBefore(oldest())) {
      return;
    }
    recent.keep(notification);
    for (Endpoint endpoint : endpoints.activeOf(notification.appName())) {
      offer(endpoint, notification);
    }
  }

  /** An endpoint registration read from {@code backstop.webhooks} (again, on a replay: nothing new then). */
  public void registered(Endpoint endpoint) {
    endpoints.register(endpoint);
    Endpoint stored = endpoints.find(endpoint.id()).orElse(endpoint);
    if (stored.state() != Endpoint.State.ACTIVE) {
      return;
    }
    Instant since = stored.registeredAt().isAfter(oldest()) ? stored.registeredAt() : oldest();
    for (Notification notification : recent.ofAppSince(stored.appName(), since)) {
      offer(stored, notification);
    }
  }

  /**
   * Forgets what no replay can bring back: notifications and finished deliveries of events older than
   * {@code maxEventAge}, which {@link #notify} and {@link #registered} would drop anyway.
   */
  public long forgetOld() {
    Instant oldest = oldest();
    return recent.forgetBefore(oldest) + deliveries.forgetFinishedBefore(oldest);
  }

  private void offer(Endpoint endpoint, Notification notification) {
    // an endpoint hears of what happens once it exists, never of what came before
    if (endpoint.wants(notification.type()) && !notification.occurredAt().isBefore(endpoint.registeredAt())) {
      deliveries.addIfAbsent(new Delivery(Delivery.idOf(endpoint.id(), notification.id()), endpoint.id(),
          notification.appName(), notification.id(), notification.type(), notification.body(), notification.occurredAt(),
          Delivery.Status.PENDING, 0, clock.instant(), Instant.EPOCH, null, null, null));
    }
  }

  private Instant oldest() {
    return clock.instant().minus(maxEventAge);
  }
}
