package dev.backstop.walarchiver;

import dev.backstop.pitr.BaseRef;
import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.WalPruning;
import dev.backstop.pitr.WalSegmentStore;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the WAL no kept base needs once retention pruned a base ({@link WalPruning}): segments and chunks
 * wholly below the oldest kept base's start, on every timeline of the streamed cluster; the archives of the
 * addon's former clusters once none of their bases is kept. Runs after the base left the kept set, so a
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

  /**
   * Deletes what no kept base of the addon needs; the number of objects deleted. The streamed cluster's WAL
   * goes below its oldest kept base; a former cluster's archive (the addon's server was re-initialised since)
   * goes whole once none of its bases is kept, and stays whole while one is (its segment size may differ
   * from the streamed cluster's, so its WAL positions are not cut finer).
   */
  int prune(String addonId) throws IOException {
    StreamFacts facts = streams.facts(addonId);
    List<PitrBases.StoredBase> allKept = bases.kept(addonId);
    Long current = facts.systemId();
    Set<Long> former = new LinkedHashSet<>(store.systems(addonId));
    store.legacyOwner(addonId).ifPresent(former::add);
    if (current != null) {
      former.remove(current);
    }
    int deleted = 0;
    for (long system : former) {
      if (allKept.stream().anyMatch(b -> Objects.equals(b.systemId(), system))) {
        continue;
      }
      int gone = store.deleteCluster(new ClusterWal(addonId, system));
      log.info("WAL of {}: the archive of former cluster {} deleted ({} objects): none of its base backups is kept",
          addonId, Long.toUnsignedString(system), gone);
      deleted += gone;
    }
    if (facts.segmentSize() == null || current == null) {
      log.info("WAL of {}: the streamed cluster's not pruned: its stream has not identified the cluster yet", addonId);
      return deleted;
    }
    // bases of another cluster (before a re-initialisation) say nothing about this one's WAL: only this one's bound it
    List<BaseRef> kept = allKept.stream().filter(b -> Objects.equals(b.systemId(), current))
        .map(PitrBases.StoredBase::ref).toList();
    if (kept.isEmpty()) {
      log.info("WAL of {} not pruned: no base backup of the streamed cluster is kept", addonId);
      return deleted;
    }
    ClusterWal cluster = new ClusterWal(addonId, current);
    int newest = kept.stream().mapToInt(BaseRef::timeline).max().orElse(1);
    if (facts.timeline() != null) {
      newest = Math.max(newest, facts.timeline());
    }
    int below = 0;
    for (int tli = 1; tli <= newest; tli++) {
      for (StoredWal wal : WalPruning.deletable(store.list(cluster, tli, facts.segmentSize()), kept)) {
        if (store.delete(wal)) {
          below++;
        }
      }
    }
    log.info("WAL of {}: {} objects below {} (the oldest kept base's start) deleted", addonId, below,
        WalPruning.floor(kept).orElseThrow());
    return deleted + below;
  }
}
