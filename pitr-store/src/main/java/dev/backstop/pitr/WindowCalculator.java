package dev.backstop.pitr;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * An addon's recoverable window from what the archiver knows (docs/pitr-design.md §6). Pure: the same
 * facts, bases and {@code now} give the same window.
 *
 * <ul>
 *   <li>A base is <b>usable</b> when it was taken on the archived cluster (same system id), the WAL archived
 *       contiguously since the last gap starts at or before its {@code startLsn}, and the archive is durable
 *       up to its {@code stopLsn}. A gap thereby cuts: bases from before it are never usable again.
 *   <li>{@code earliest} is the end of the newest usable base that ended at or before {@code now − keep},
 *       else of the oldest usable base; {@code latest} is the probe's (every commit acknowledged by then is
 *       archived).
 *   <li>States: {@code unavailable} (not offered, with why); {@code broken} after a gap until a base taken
 *       after it is usable, or while the stream is down past its bound (then {@code earliest} is kept: no WAL
 *       was lost, the slot holds it); {@code starting} while no base is usable yet or the probe has not
 *       reached the base's end; else {@code streaming}.
 * </ul>
 */
public final class WindowCalculator {

  /** Customers can go back this far: the newest base at or before it bounds the window. */
  public static final Duration KEEP = Duration.ofDays(7);

  /** A base backup as known from its {@code BackupCompleted}, with the cluster it was taken on. */
  public record Base(BaseRef ref, long systemId) {}

  /**
   * What the archiver knows of an addon's WAL.
   *
   * @param systemId the streamed cluster's system identifier; 0 before the first stream identified it
   * @param coverageStart first LSN archived contiguously since the last gap; null while nothing is (never
   *     streamed, or a gap whose stream has not resumed yet)
   * @param durable the archive holds every byte below this LSN; null before the first chunk
   * @param latest every commit acknowledged at or before this instant is archived; null while unknown
   * @param gapSince when WAL went missing last (null: never), with {@code gapReason}
   * @param streamDownSince set while the server's WAL advances and the archive has not for longer than the
   *     bound: the last {@code latest} before it stopped
   * @param slotWarning the server's cap on the slot was reached (WAL at risk), for people
   * @param fallback why the WAL is streamed from another node than the plan's (the secondary unreachable: the
   *     primary), for people; null on the plan's node
   */
  public record Facts(long systemId, Lsn coverageStart, Lsn durable, Instant latest, Instant gapSince,
      String gapReason, Instant streamDownSince, String slotWarning, String fallback) {

    public static final Facts NONE = new Facts(0, null, null, null, null, null, null, null, null);

    /** Facts of a stream on the plan's node. */
    public Facts(long systemId, Lsn coverageStart, Lsn durable, Instant latest, Instant gapSince, String gapReason,
        Instant streamDownSince, String slotWarning) {
      this(systemId, coverageStart, durable, latest, gapSince, gapReason, streamDownSince, slotWarning, null);
    }
  }

  private WindowCalculator() {}

  /**
   * The window of {@code addonId}; {@code unavailableReason} non-null means not offered (Sandbox, MySQL,
   * removed, archiving switched off).
   */
  public static PitrWindow calculate(String addonId, String unavailableReason, Facts facts, List<Base> bases,
      Instant now) {
    if (unavailableReason != null) {
      return PitrWindow.unavailable(addonId, unavailableReason);
    }
    List<BaseRef> usable = bases.stream().filter(b -> usable(b, facts)).map(Base::ref)
        .sorted(Comparator.comparing(BaseRef::endTime).thenComparing(BaseRef::backupId)).toList();
    if (usable.isEmpty()) {
      if (facts.gapSince() != null) {
        return new PitrWindow(addonId, PitrState.BROKEN, null, null,
            facts.gapReason() + "; waiting for a base backup taken after it", facts.gapSince(), facts.slotWarning(),
            facts.systemId(), List.of());
      }
      return new PitrWindow(addonId, PitrState.STARTING, null, null, startingReason(facts, bases), null,
          facts.slotWarning(), facts.systemId(), List.of());
    }
    Instant cutoff = now.minus(KEEP);
    Instant earliest = usable.get(0).endTime();
    for (BaseRef base : usable) {
      if (!base.endTime().isAfter(cutoff)) {
        earliest = base.endTime();
      }
    }
    Instant latest = facts.latest();
    if (facts.streamDownSince() != null) {
      return new PitrWindow(addonId, PitrState.BROKEN, earliest, latest,
          "the WAL stream is down since " + facts.streamDownSince() + ": commits after it are not archived yet",
          facts.streamDownSince(), facts.slotWarning(), facts.systemId(), usable);
    }
    if (latest == null || latest.isBefore(earliest)) {
      return new PitrWindow(addonId, PitrState.STARTING, null, null,
          "base backup " + usable.get(0).backupId() + " is archived; waiting for the latest archived instant to pass its end",
          null, facts.slotWarning(), facts.systemId(), usable);
    }
    // streaming from a stand-in node loses nothing (the slots keep the rule), but people are told why
    String reason = facts.fallback() == null ? null : "streaming from " + facts.fallback();
    return new PitrWindow(addonId, PitrState.STREAMING, earliest, latest, reason, null, facts.slotWarning(),
        facts.systemId(), usable);
  }

  /** Whether a base can be restored from with the archive as {@code facts} describe it. */
  public static boolean usable(Base base, Facts facts) {
    BaseRef ref = base.ref();
    return facts.systemId() != 0 && base.systemId() == facts.systemId()
        && facts.coverageStart() != null && !ref.startLsn().isBefore(facts.coverageStart())
        && facts.durable() != null && !facts.durable().isBefore(ref.stopLsn());
  }

  private static String startingReason(Facts facts, List<Base> bases) {
    if (facts.coverageStart() == null) {
      return "WAL archiving is starting";
    }
    boolean waitingForWal = bases.stream().anyMatch(b -> b.systemId() == facts.systemId()
        && !b.ref().startLsn().isBefore(facts.coverageStart()));
    return waitingForWal ? "a base backup is done; its WAL is not archived to its end yet"
        : "WAL is archived; waiting for the first base backup";
  }
}
