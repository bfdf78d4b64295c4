package dev.backstop.pitr;

/**
 * The WAL archive of one PostgreSQL cluster of an addon: the addon and the cluster's system identifier
 * ({@code IDENTIFY_SYSTEM}'s {@code systemid}, the first field of {@code pg_control}, also in every WAL
 * segment's first page). A cluster re-initialised under the same addon (restored from a dump into a fresh
 * cluster, a new primary built by {@code initdb}) writes WAL with the same file names as the old one; keyed
 * by system identifier, the two never share a key, and a restore reads only the WAL of its base's cluster.
 *
 * <p>{@code systemId == 0} names the <b>legacy layout</b>: archives written before keys carried the system
 * identifier ({@link PitrKeys}). It is one cluster's, recorded by a claim ({@link WalSegmentStore#claimLegacy});
 * reads for that cluster see it beside the cluster's own layout.
 */
public record ClusterWal(String addonId, long systemId) {

  public ClusterWal {
    if (addonId == null || addonId.isEmpty()) {
      throw new IllegalArgumentException("an addon id is needed");
    }
  }

  /** The archive as written before system identifiers were part of its keys. */
  public static ClusterWal legacy(String addonId) {
    return new ClusterWal(addonId, 0);
  }

  public boolean isLegacy() {
    return systemId == 0;
  }

  @Override
  public String toString() {
    return addonId + (isLegacy() ? " (legacy layout)" : " system " + Long.toUnsignedString(systemId));
  }
}
