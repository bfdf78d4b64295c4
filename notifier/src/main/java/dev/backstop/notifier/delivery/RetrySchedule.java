package dev.backstop.notifier.delivery;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** When a failed delivery is tried again: the configured delays in order, then never. */
public final class RetrySchedule {

  private final List<Duration> delays;

  public RetrySchedule(List<Duration> delays) {
    this.delays = List.copyOf(delays);
  }

  /** When the attempt after attempt number {@code attempt} (1 for the first) is due; null once none is left. */
  public Instant after(int attempt, Instant failedAt) {
    return attempt <= delays.size() ? failedAt.plus(delays.get(attempt - 1)) : null;
  }

  /** Attempts a delivery gets in all. */
  public int attempts() {
    return delays.size() + 1;
  }
}
