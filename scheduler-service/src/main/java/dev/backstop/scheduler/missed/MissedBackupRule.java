package dev.backstop.scheduler.missed;

import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.schemas.events.MissedFinding;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HexFormat;

/**
 * Whether an addon's scheduled backup for one local day happened: judged once the day's fire time
 * plus {@code grace} has passed, from what the backup events say about that day's scheduled backup
 * and the addon's latest successful backup of any kind.
 *
 * <p>A day is fine when its scheduled backup completed, or when any backup completed since the start of
 * that local day (a manual one counts: the customer has a backup of the day). Otherwise it is missed,
 * with what was found: never requested, requested and failed, requested and never started, or running
 * for longer than the grace (stuck). A backup running for less than the grace is waited for.
 *
 * @param grace how long after a day's fire time the day is judged (default 6 hours)
 */
public record MissedBackupRule(Duration grace) {

  public MissedBackupRule {
    if (grace.isNegative() || grace.compareTo(Duration.ofHours(23)) > 0) {
      throw new IllegalArgumentException("the grace must be 0 to 23 hours, so a day is judged before the next one is due; was " + grace);
    }
  }

  /**
   * What the backup events said about a day's scheduled backup; every field null when nothing did.
   * Running: started after its last failure (a resumed backup) and not completed.
   */
  public record DayRecord(Instant requestedAt, Instant startedAt, Instant failedAt, Instant completedAt, String failure) {

    public static final DayRecord NOTHING = new DayRecord(null, null, null, null, null);

    boolean running() {
      return startedAt != null && completedAt == null && (failedAt == null || startedAt.isAfter(failedAt));
    }
  }

  /** The outcome of judging a day. */
  public sealed interface Verdict {
    /** The day has a backup. */
    record Fine() implements Verdict {}

    /** A backup is running and is not stuck yet: judge again at {@code until}. */
    record Wait(Instant until) implements Verdict {}

    /** The day has no backup. */
    record Missed(MissedFinding finding, String detail) implements Verdict {}
  }

  /** When local day {@code date} of {@code schedule} is judged. */
  public Instant checkAt(RecurringBackup schedule, LocalDate date) {
    return schedule.fireTime(date).plus(grace);
  }

  /**
   * The first day to watch once a schedule takes effect at {@code now}: the day of its next run, so a
   * day whose hour passed before the addon was registered (or changed) is never held against it.
   */
  public static LocalDate firstDayToWatch(RecurringBackup schedule, Instant now) {
    return LocalDate.ofInstant(schedule.nextFireAfter(now), schedule.zone());
  }

  /**
   * Judges local day {@code date} at {@code now} (at or after {@link #checkAt}).
   *
   * @param day what the events said about the day's scheduled backup
   * @param lastSucceededAt when the addon's latest backup of any kind completed; null if none did
   */
  public Verdict judge(RecurringBackup schedule, LocalDate date, DayRecord day, Instant lastSucceededAt, Instant now) {
    if (day.completedAt() != null
        || (lastSucceededAt != null && !lastSucceededAt.isBefore(date.atStartOfDay(schedule.zone()).toInstant()))) {
      return new Verdict.Fine();
    }
    if (day.running()) {
      Instant stuckAt = day.startedAt().plus(grace);
      return now.isBefore(stuckAt)
          ? new Verdict.Wait(stuckAt)
          : new Verdict.Missed(MissedFinding.STUCK_RUNNING, "running since " + day.startedAt());
    }
    if (day.failedAt() != null) {
      return new Verdict.Missed(MissedFinding.REQUESTED_AND_FAILED, day.failure());
    }
    if (day.requestedAt() != null) {
      return new Verdict.Missed(MissedFinding.REQUESTED_NEVER_STARTED, "requested at " + day.requestedAt() + ", never started");
    }
    return new Verdict.Missed(MissedFinding.NEVER_REQUESTED, "no backup was requested for " + date);
  }

  /** The id of the one BackupMissed of (addon, local day): a replay or a second instance yields the same. */
  public static String missedId(String addonId, LocalDate date) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest((addonId + '|' + date + "|MISSED").getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
