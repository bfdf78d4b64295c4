package dev.backstop.notifier.delivery;

import java.time.Instant;
import java.util.List;

/** Every delivery's state, persisted: what is due, who is attempting it, how each attempt ended. */
public interface Deliveries {

  /** Adds a new pending delivery, due at once; false if one for that endpoint and message exists (replay). */
  boolean addIfAbsent(Delivery delivery);

  /** Pending deliveries due at {@code now} and not leased, earliest first, at most {@code limit}. */
  List<Delivery> due(Instant now, int limit);

  /** Leases a due delivery until {@code until}; false if another runner holds it or it is no longer due. */
  boolean lease(String id, int attempts, Instant now, Instant until);

  /**
   * Records the end of attempt {@code attempt} (the delivery's {@code attempts} becomes it): the new status,
   * when the next attempt is due (PENDING only), the answer's status and the error. Releases the lease.
   */
  void recordAttempt(String id, int attempt, Delivery.Status status, Instant at, Instant nextAttemptAt,
      Integer httpStatus, String error);

  /** Forgets finished deliveries (delivered, given up, cancelled) of events that occurred before {@code before}; how many. */
  long forgetFinishedBefore(Instant before);
}
