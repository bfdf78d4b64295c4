package dev.backstop.notifier.events;

import java.time.Instant;

/**
 * Each addon's last known PITR window state, so that a {@code PitrWindowChanged} can be told apart as a
 * break, a recovery, or neither (most are the window moving on).
 */
public interface PitrWindows {

  /** What the window was before {@code at}: broken or not, and whether {@code at} is new at all. */
  record Before(boolean known, boolean broken, boolean stale) {}

  /**
   * Records that the addon's window is {@code broken} (or not) from {@code at} and says what it was before.
   * An {@code at} no later than the stored one is stale (a redelivery, a replay) and changes nothing.
   */
  Before advance(String addonId, Instant at, boolean broken);
}
