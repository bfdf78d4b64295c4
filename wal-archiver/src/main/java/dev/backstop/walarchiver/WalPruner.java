package dev.backstop.walarchiver;

import dev.backstop.pitr.BaseRef;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.WalPruning;
import dev.backstop.pitr.WalSegmentStore;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the WAL no kept base needs once retention pruned a base ({@link WalPruning}): segments and chunks
 * wholly below the oldest kept base's start, on every timeline. Runs after the base left the kept set, so a
 * restore, which plans only from kept bases, never reads what goes. Timeline history files stay (a few
 * bytes each; recovery walks them to follow timelines).
 */
final class WalPruner {

  private static final Logger log = LoggerFactory.getLogger(WalPruner.class);

  private final WalSegmentStore store;
  private final PitrBases bases;
  private final StreamLeases streams;

  WalPruner(WalSegmentStore store, PitrBases bases, StreamLeases streams) {
    this.store = store;
    this.bases = bases;
    this.streams = streams;
  }

  /** Deletes what no kept base of the addon needs; the number of objects deleted. */
  int prune(String addonId) throws IOException {
    StreamFacts facts = streams.facts(addonId);
    if (facts.segmentSize() == null || facts.systemId() == null) {
      log.info("WAL of {} not pruned: its stream has not identified the cluster yet", addonId);
      return 0;
    }
    // bases of another cluster (before a rebuild) say nothing about this one's WAL: only this one's bound it
    List<BaseRef> kept = bases.kept(addonId).stream().filter(b -> Objects.equals(b.systemId(), facts.systemId()))
        .map(PitrBases.StoredBase::ref).toList();
    if (kept.isEmpty()) {
      log.info("WAL of {} not pruned: no base backup is kept", addonId);
      return 0;
    }
    int newest = kept.stream().mapToInt(BaseRef::timeline).max().orElse(1);
    if (facts.timeline() != null) {
      newest = Math.max(newest, facts.timeline());
    }
    int deleted = 0;
    for (int tli = 1; tli <= newest; tli++) {
      for (StoredWal wal : WalPruning.deletable(store.list(addonId, tli, facts.segmentSize()), kept)) {
        if (store.delete(wal)) {
          deleted++;
        }
      }
    }
    log.info("WAL of {}: {} objects below {} (the oldest kept base's start) deleted", addonId, deleted,
        WalPruning.floor(kept).orElseThrow());
    return deleted;
  }
}
