package dev.backstop.walarchiver;

import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.WindowCalculator;
import java.time.Instant;

/**
 * What the owner of an addon's stream knows of its archive, saved in {@code wal_streams} (fenced like the
 * lease) so that the next owner, and the window computed by any instance, start from it. LSNs as unsigned
 * 64-bit numbers; every component nullable (absent until known).
 *
 * @param systemId the streamed cluster's system identifier
 * @param segmentSize the cluster's WAL segment size
 * @param coverageStart first LSN archived contiguously since the last gap (null: nothing yet, or a gap whose
 *     stream has not resumed)
 * @param coverageCause why archiving (re)started at {@code coverageStart}: {@code started} (new addon, plan
 *     upgrade) or {@code gap}; part of the requested base backup's id
 * @param coverageReason the same for people, the requested base backup's reason
 * @param timeline the timeline of {@code durable}
 * @param durable every byte below it is in the store
 * @param latest every commit acknowledged at or before it is archived
 * @param gapSince when WAL went missing last, with {@code gapReason}
 * @param streamDownSince the stream is down past its bound since then
 * @param slotWarning the server's {@code max_slot_wal_keep_size} cap reached
 * @param baseRequestedFor the {@code coverageStart} a base backup was last requested for (requested once)
 * @param fallback why the stream runs on the primary instead of the plan's node (null: on the plan's node)
 */
public record StreamFacts(Long systemId, Long segmentSize, Long coverageStart, String coverageCause,
    String coverageReason, Integer timeline,
    Long durable, Instant latest, Instant gapSince, String gapReason, Instant streamDownSince, String slotWarning,
    Long baseRequestedFor, String fallback) {

  public static final StreamFacts NONE = new StreamFacts(null, null, null, null, null, null, null, null, null, null, null, null,
      null, null);

  /** Facts of a stream on the plan's node. */
  public StreamFacts(Long systemId, Long segmentSize, Long coverageStart, String coverageCause, String coverageReason,
      Integer timeline, Long durable, Instant latest, Instant gapSince, String gapReason, Instant streamDownSince,
      String slotWarning, Long baseRequestedFor) {
    this(systemId, segmentSize, coverageStart, coverageCause, coverageReason, timeline, durable, latest, gapSince,
        gapReason, streamDownSince, slotWarning, baseRequestedFor, null);
  }

  WindowCalculator.Facts toWindowFacts() {
    return new WindowCalculator.Facts(systemId == null ? 0 : systemId, lsn(coverageStart), lsn(durable), latest,
        gapSince, gapReason, streamDownSince, slotWarning, fallback);
  }

  private static Lsn lsn(Long value) {
    return value == null ? null : new Lsn(value);
  }
}
