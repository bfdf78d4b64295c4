package dev.backstop.testing;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A clock that starts at a chosen instant and moves a set amount per second of real (elapsed) time, in
 * whole milliseconds. Reads never go back, and at a millisecond a second or more, a read a real second
 * after another is later: code that waits for its clock to pass an instant it recorded gets there. Yet
 * two runs started at the same instant see nearly the same times (at 1 ms a second, a minute of real time
 * apart is 60 ms of this clock), where the system clock would put them as far apart as the runs themselves.
 */
public final class CreepingClock extends UtcClock {

  private final Instant start;
  private final long nanosPerSecond;
  private final long startedNanos = System.nanoTime();

  /**
   * @param start the instant of the first read
   * @param perSecond how far the clock moves for each second of real time
   */
  public CreepingClock(Instant start, Duration perSecond) {
    this.start = start.truncatedTo(ChronoUnit.MILLIS);
    this.nanosPerSecond = perSecond.toNanos();
  }

  @Override
  public Instant instant() {
    long elapsed = System.nanoTime() - startedNanos;
    // whole seconds and the rest apart: no overflow however long the test runs
    long moved = elapsed / 1_000_000_000L * nanosPerSecond + elapsed % 1_000_000_000L * nanosPerSecond / 1_000_000_000L;
    return start.plusNanos(moved).truncatedTo(ChronoUnit.MILLIS);
  }
}
