package dev.backstop.testing;

import java.time.Clock;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A test's clock: UTC, which is all the services ask of one (they take instants, and zones of their own). */
abstract class UtcClock extends Clock {

  @Override
  public final ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public final Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " is UTC only");
  }
}
