package dev.backstop.pitr;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Which archived WAL no kept base needs any more (pure; docs/pitr-design.md §6). Replay from a base reads
 * the segment holding its {@code startLsn} and everything after it, on whichever timeline; so an object
 * can go only when its <b>whole segment</b> ends at or before the oldest kept base's start. Whole segments,
 * not byte ranges: a segment is assembled from its first byte, so dropping the head chunks of the segment
 * a base starts in would make that segment unreadable.
 */
public final class WalPruning {

  private WalPruning() {}

  /** Objects strictly below every kept base's start segment; none at all when no base is kept. */
  public static List<StoredWal> deletable(Collection<StoredWal> stored, Collection<BaseRef> kept) {
    Optional<Lsn> floor = floor(kept);
    if (floor.isEmpty()) {
      return List.of();
    }
    return stored.stream().filter(w -> !w.segment().endLsn().isAfter(floor.get())).toList();
  }

  /** The oldest start among kept bases: WAL below it is needed by none of them. */
  public static Optional<Lsn> floor(Collection<BaseRef> kept) {
    return kept.stream().map(BaseRef::startLsn).min(Lsn::compareTo);
  }
}
