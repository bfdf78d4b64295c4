package dev.backstop.pitr;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The WAL archive of point-in-time recovery, over the archive store (the only writer of PITR keys, see
 * {@link PitrKeys}). Every object is compressed (zstd), encrypted with the addon's key bound to the
 * object's key (an object copied to another range or addon does not decrypt), and checked on read.
 *
 * <p>Each cluster of an addon ({@link ClusterWal}: addon and system identifier) has an archive of its own:
 * WAL of a re-initialised cluster never lands on, or is read as, the old cluster's. Writes go to the
 * cluster's own layout. Reads for a cluster also see the legacy layout (archives written before keys held
 * the system identifier) when it is that cluster's by its claim, or not claimed by any cluster yet; a
 * segment read from the legacy layout is handed over only when its first page names the cluster.
 *
 * <p>Objects are immutable content at (cluster, timeline, LSN): writing one twice stores the same bytes, so
 * a stale owner or a restarted stream re-uploading a range is harmless.
 */
public interface WalSegmentStore {

  /** What a put stored: plain bytes, bytes at rest (compressed and encrypted), SHA-256 of the plain bytes (hex). */
  record StoredObject(String key, long plainBytes, long storedBytes, String sha256) {}

  /**
   * Stores WAL bytes {@code [start, start + plain.remaining())} of {@code segment} as a chunk, unless a
   * chunk of exactly that range exists. Durable when it returns: only then may the slot move past it.
   */
  StoredObject putChunk(ClusterWal cluster, WalSegmentName segment, Lsn start, ByteBuffer plain) throws IOException;

  /** Stores a whole segment ({@code plain} holds exactly its bytes). */
  StoredObject putSegment(ClusterWal cluster, WalSegmentName segment, byte[] plain) throws IOException;

  /** Stores a timeline's history file; done before any WAL of that timeline is stored. */
  void putHistory(ClusterWal cluster, int timeline, byte[] content) throws IOException;

  /** A timeline's history file content, if stored. */
  Optional<byte[]> history(ClusterWal cluster, int timeline) throws IOException;

  /**
   * The segment's bytes, ready for {@code restore_command}: the whole segment if stored, else its chunks
   * assembled from its first byte up to the first hole and zero-padded to the segment size (recovery reads
   * zeros as the end of WAL). Empty when nothing of this cluster covers the segment's first byte.
   */
  Optional<byte[]> fetchSegment(ClusterWal cluster, WalSegmentName segment) throws IOException;

  /** Every stored segment and chunk of a cluster's timeline, ordered by start then end. */
  List<StoredWal> list(ClusterWal cluster, int timeline, long segmentSize) throws IOException;

  /** Deletes the chunks of a segment; called only once the whole segment is stored. */
  void deleteChunks(ClusterWal cluster, WalSegmentName segment) throws IOException;

  /** Deletes one object (a chunk covered by its whole segment, or WAL older than the oldest kept base). */
  boolean delete(StoredWal wal) throws IOException;

  /** The clusters (system identifiers) of the addon that have a layout of their own in the store. */
  List<Long> systems(String addonId) throws IOException;

  /** Which cluster the addon's legacy layout holds; empty while not claimed. */
  OptionalLong legacyOwner(String addonId) throws IOException;

  /**
   * Records that the addon's legacy layout holds {@code systemId}'s WAL, if it holds anything and no claim
   * exists yet (the first claim stays). Returns the owner after: the existing claim, this one, or empty when
   * the legacy layout is empty (nothing to claim).
   */
  OptionalLong claimLegacy(String addonId, long systemId) throws IOException;

  /**
   * Deletes a cluster's whole archive, its WAL and histories (with the legacy layout when the cluster owns
   * it): for a former cluster of the addon none of whose base backups is kept. Returns the objects deleted.
   */
  int deleteCluster(ClusterWal cluster) throws IOException;
}
