package dev.backstop.retention.policy;

import dev.backstop.retention.policy.RetentionPolicy.Kept;
import dev.backstop.schemas.events.BackupKind;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Point-in-time recovery's retention (docs/pitr-design.md §6): every instant of the last 7 days stays
 * restorable, which needs the newest base that ended at or before now − 7 days and every later base
 * (the WAL from the oldest kept base on is kept by the wal-archiver); restores to a point in time are
 * dumps kept 7 days. One small method per rule, each returning what it keeps and why, as
 * {@link RetentionPolicy}'s rules do.
 *
 * <p>When the addon stops taking backups (moved to Sandbox, removed), WAL is no longer archived: the
 * window as it stood at that moment stays restorable for 7 more days, then its bases go. Nothing is
 * kept forever.
 */
public final class PitrRetention {

  /** How far back every instant stays restorable, and how long a point-in-time restore's dump stays. */
  public static final Duration WINDOW = Duration.ofDays(7);

  private PitrRetention() {}

  /** Everything point-in-time recovery keeps among {@code all} (live and deleted backups) at {@code now}. */
  static List<Kept> keep(PlanHistory plans, ZoneId zone, Instant now, List<StoredBackup> all) {
    List<Kept> kept = new ArrayList<>();
    Optional<Instant> stopped = stoppedAt(plans, now);
    Instant asOf = stopped.orElse(now);
    Instant until = stopped.map(s -> s.plus(WINDOW)).orElse(null);
    if (until == null || until.isAfter(now)) {
      String after = stopped.map(s -> " before the addon stopped taking backups on " + LocalDate.ofInstant(s, zone)).orElse("");
      kept.addAll(oldestBaseOfWindow(all, asOf, after, until));
      kept.addAll(basesInsideWindow(all, asOf, after, until));
    }
    kept.addAll(restores(all, now));
    return kept;
  }

  /**
   * The newest base that ended at or before {@code asOf} − 7 days: restores to instants near the start
   * of the window replay from it.
   */
  static List<Kept> oldestBaseOfWindow(List<StoredBackup> all, Instant asOf, String after, Instant until) {
    Instant windowStart = asOf.minus(WINDOW);
    return bases(all).stream()
        .filter(b -> !b.restorableFrom().isAfter(windowStart))
        .max(Comparator.comparing(StoredBackup::restorableFrom).thenComparing(StoredBackup::backupId))
        .map(b -> List.of(new Kept(b.backupId(), new RetentionDecision.Reason("pitr-oldest-base",
            "oldest base of the 7-day window" + after, until))))
        .orElse(List.of());
  }

  /** Every base that ended after {@code asOf} − 7 days. */
  static List<Kept> basesInsideWindow(List<StoredBackup> all, Instant asOf, String after, Instant until) {
    Instant windowStart = asOf.minus(WINDOW);
    return bases(all).stream()
        .filter(b -> b.restorableFrom().isAfter(windowStart) && !b.takenAt().isAfter(asOf))
        .map(b -> new Kept(b.backupId(), new RetentionDecision.Reason("pitr-base",
            "base inside the 7-day window" + after, until)))
        .toList();
  }

  /** The dump of a point-in-time restore, for 7 days after it was taken. */
  static List<Kept> restores(List<StoredBackup> all, Instant now) {
    return all.stream()
        .filter(b -> b.kind() == BackupKind.PITR_RESTORE && b.succeeded() && b.takenAt().plus(WINDOW).isAfter(now))
        .map(b -> new Kept(b.backupId(), new RetentionDecision.Reason("pitr-restore", "point-in-time restore, kept 7 days",
            b.takenAt().plus(WINDOW))))
        .toList();
  }

  /** Why a point-in-time backup no rule keeps goes. */
  static String whyNotKept(PlanHistory plans, Instant now, StoredBackup b) {
    if (b.kind() == BackupKind.PITR_RESTORE) {
      return "point-in-time restore: older than 7 days";
    }
    return stoppedAt(plans, now).isPresent()
        ? "point-in-time base: the addon stopped taking backups more than 7 days ago"
        : "point-in-time base: older than the oldest base of the 7-day window";
  }

  /** Since when the addon has not been taking backups (Sandbox, removed), if it is not at {@code now}. */
  static Optional<Instant> stoppedAt(PlanHistory plans, Instant now) {
    if (plans.takesBackups(now)) {
      return Optional.empty();
    }
    Instant stop = null;
    for (PlanHistory.Change change : plans.changes()) {
      if (change.at().isAfter(now)) {
        break;
      }
      if (change.takesBackups()) {
        stop = null;
      } else if (stop == null) {
        stop = change.at();
      }
    }
    return Optional.ofNullable(stop);
  }

  private static List<StoredBackup> bases(List<StoredBackup> all) {
    return all.stream().filter(b -> b.kind() == BackupKind.PITR_BASE && b.succeeded()).toList();
  }
}
