package dev.backstop.pitr;

/**
 * Where point-in-time recovery objects live in the archive store, under the addon's prefix beside its
 * {@code data-key.json} (docs/pitr-design.md §4). Every object is encrypted, so every key ends in
 * {@code .tink}. LSNs appear as 16 hex digits so that keys sort like positions.
 *
 * <p>WAL and timeline histories are kept per cluster, under the cluster's system identifier (unsigned
 * decimal, as PostgreSQL prints it), because a re-initialised cluster reuses the old one's file names:
 *
 * <pre>
 * chunk    &lt;addon&gt;/pitr/system/&lt;SYSID&gt;/wal/&lt;TLI8&gt;/&lt;SEG24&gt;/&lt;START16&gt;-&lt;END16&gt;.zst.tink
 * segment  &lt;addon&gt;/pitr/system/&lt;SYSID&gt;/wal/&lt;TLI8&gt;/&lt;SEG24&gt;.zst.tink
 * history  &lt;addon&gt;/pitr/system/&lt;SYSID&gt;/history/&lt;TLI8&gt;.history.tink
 * base     &lt;addon&gt;/pitr/base/&lt;backupId&gt;/base.tar.zst.tink   (its cluster in its BackupCompleted and pg_control)
 * claim    &lt;addon&gt;/pitr/legacy-system.tink                      (which cluster the legacy layout holds)
 * </pre>
 *
 * The legacy layout ({@link ClusterWal#legacy}), written before system identifiers were in keys, is the
 * same without {@code system/<SYSID>/}: {@code <addon>/pitr/wal/…} and {@code <addon>/pitr/history/…}.
 */
public final class PitrKeys {

  public static final String COMPRESSED_SUFFIX = ".zst.tink";
  public static final String HISTORY_SUFFIX = ".history.tink";

  private PitrKeys() {}

  /** Where one cluster's WAL and histories live: {@code <addon>/pitr/system/<SYSID>/}, or {@code <addon>/pitr/} (legacy). */
  public static String clusterPrefix(ClusterWal cluster) {
    String addon = checked(cluster.addonId());
    return cluster.isLegacy() ? addon + "/pitr/" : systemsPrefix(addon) + Long.toUnsignedString(cluster.systemId()) + "/";
  }

  /** The folder of every cluster's own layout: one sub-folder per system identifier. */
  public static String systemsPrefix(String addonId) {
    return checked(addonId) + "/pitr/system/";
  }

  /** The object saying which cluster the legacy layout holds (its system identifier, encrypted like the rest). */
  public static String legacyClaim(String addonId) {
    return checked(addonId) + "/pitr/legacy-system.tink";
  }

  /** Every timeline's WAL of a cluster. */
  public static String walRoot(ClusterWal cluster) {
    return clusterPrefix(cluster) + "wal/";
  }

  /** Everything of one timeline's WAL: segments and their folders of chunks. */
  public static String walPrefix(ClusterWal cluster, int timeline) {
    return walRoot(cluster) + String.format("%08X", timeline) + "/";
  }

  /** The chunks of one segment not yet consolidated. */
  public static String chunkPrefix(ClusterWal cluster, WalSegmentName segment) {
    return walPrefix(cluster, segment.timeline()) + segment.fileName() + "/";
  }

  /** A chunk: the WAL bytes {@code [start, end)} of one segment, as received. */
  public static String chunk(ClusterWal cluster, WalSegmentName segment, Lsn start, Lsn end) {
    if (!start.isBefore(end) || start.isBefore(segment.startLsn()) || end.isAfter(segment.endLsn())) {
      throw new IllegalArgumentException("chunk " + start + "-" + end + " is not inside " + segment);
    }
    return chunkPrefix(cluster, segment) + start.hex16() + "-" + end.hex16() + COMPRESSED_SUFFIX;
  }

  /** A whole segment. */
  public static String segment(ClusterWal cluster, WalSegmentName segment) {
    return walPrefix(cluster, segment.timeline()) + segment.fileName() + COMPRESSED_SUFFIX;
  }

  public static String historyPrefix(ClusterWal cluster) {
    return clusterPrefix(cluster) + "history/";
  }

  public static String history(ClusterWal cluster, int timeline) {
    return historyPrefix(cluster) + String.format("%08X", timeline) + HISTORY_SUFFIX;
  }

  public static String base(String addonId, String backupId) {
    return checked(addonId) + "/pitr/base/" + checked(backupId) + "/base.tar.zst.tink";
  }

  /** A chunk key's {@code [start, end)} range, or null when the key is not a chunk's. */
  public static Lsn[] chunkRange(String key) {
    if (!key.endsWith(COMPRESSED_SUFFIX)) {
      return null;
    }
    String name = key.substring(key.lastIndexOf('/') + 1, key.length() - COMPRESSED_SUFFIX.length());
    if (name.length() != 33 || name.charAt(16) != '-') {
      return null;
    }
    try {
      return new Lsn[] {Lsn.fromHex16(name.substring(0, 16)), Lsn.fromHex16(name.substring(17))};
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String checked(String id) {
    if (id == null || id.isEmpty() || id.contains("/") || id.equals(".") || id.equals("..")) {
      throw new IllegalArgumentException("not usable in a store key: " + id);
    }
    return id;
  }
}
