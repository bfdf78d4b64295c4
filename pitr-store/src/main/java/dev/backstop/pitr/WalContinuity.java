package dev.backstop.pitr;

import java.util.List;
import java.util.Optional;

/** Whether the stored WAL of one timeline covers a range without a hole (pure; the gap auditor's rule). */
public final class WalContinuity {

  private WalContinuity() {}

  /**
   * The first position in {@code [from, to)} that no stored segment or chunk covers, if any. {@code stored}
   * in any order; overlapping objects are fine (re-uploads after a restart).
   */
  public static Optional<Lsn> firstHole(List<StoredWal> stored, Lsn from, Lsn to) {
    Lsn covered = from;
    List<StoredWal> sorted = stored.stream()
        .sorted(java.util.Comparator.comparing(StoredWal::start).thenComparing(StoredWal::end)).toList();
    for (StoredWal wal : sorted) {
      if (!covered.isBefore(to)) {
        break;
      }
      if (wal.start().isAfter(covered)) {
        return Optional.of(covered);
      }
      covered = Lsn.max(covered, wal.end());
    }
    return covered.isBefore(to) ? Optional.of(covered) : Optional.empty();
  }
}
