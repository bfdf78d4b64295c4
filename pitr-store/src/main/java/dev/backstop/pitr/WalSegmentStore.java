package dev.backstop.pitr;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The WAL archive of point-in-time recovery, over the archive store (the only writer of PITR keys, see
 * {@link PitrKeys}). Every object is compressed (zstd), encrypted with the addon's key bound to the
 * object's key (an object copied to another range or addon does not decrypt), and checked on read.
 *
 * <p>Objects are immutable content at (timeline, LSN): writing one twice stores the same bytes, so a
 * stale owner or a restarted stream re-uploading a range is harmless.
 */
public interface WalSegmentStore {

  /** What a put stored: plain bytes, bytes at rest (compressed and encrypted), SHA-256 of the plain bytes (hex). */
  record StoredObject(String key, long plainBytes, long storedBytes, String sha256) {}

  /**
   * Stores WAL bytes {@code [start, start + plain.remaining())} of {@code segment} as a chunk, unless a
   * chunk of exactly that range exists. Durable when it returns: only then may the slot move past it.
   */
  StoredObject putChunk(String addonId, WalSegmentName segment, Lsn start, ByteBuffer plain) throws IOException;

  /** Stores a whole segment ({@code plain} holds exactly its bytes). */
  StoredObject putSegment(String addonId, WalSegmentName segment, byte[] plain) throws IOException;

  /** Stores a timeline's history file; done before any WAL of that timeline is stored. */
  void putHistory(String addonId, int timeline, byte[] content) throws IOException;

  /** A timeline's history file content, if stored. */
  Optional<byte[]> history(String addonId, int timeline) throws IOException;

  /**
   * The segment's bytes, ready for {@code restore_command}: the whole segment if stored, else its chunks
   * assembled from its first byte up to the first hole and zero-padded to the segment size (recovery reads
   * zeros as the end of WAL). Empty when nothing covers the segment's first byte.
   */
  Optional<byte[]> fetchSegment(String addonId, WalSegmentName segment) throws IOException;

  /** Every stored segment and chunk of a timeline, ordered by start then end. */
  List<StoredWal> list(String addonId, int timeline, long segmentSize) throws IOException;

  /** Deletes the chunks of a segment; called only once the whole segment is stored. */
  void deleteChunks(String addonId, WalSegmentName segment) throws IOException;

  /** Deletes one object (a chunk covered by its whole segment, or WAL older than the oldest kept base). */
  boolean delete(StoredWal wal) throws IOException;
}
