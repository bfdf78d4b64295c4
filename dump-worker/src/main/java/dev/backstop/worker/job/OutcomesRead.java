package dev.backstop.worker.job;

import java.time.Instant;

/**
 * How far the outcomes of a ledger's jobs have been read back from the topic they are published on.
 * A {@link JobRunner} takes a pending job only once every outcome published before it was recorded has
 * been read: a request replayed into a ledger that does not know its outcome (rebuilt into an empty
 * database) is then recognised as over, never run a second time.
 */
@FunctionalInterface
public interface OutcomesRead {

  /**
   * The instant before which every outcome published is known to the ledger; null while that is not
   * known yet (then no pending job is taken). May ask the broker, so callers keep its answer briefly.
   */
  Instant readUpTo();
}
