package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HexFormat;

/**
 * The local date a scheduled backup stands for, read back from its id. The scheduler derives a
 * scheduled backup's id from (addon, local date, kind) (scheduler-service's {@code ScheduledBackupId};
 * the two must stay the same formula, a test pins both to the same vector), so the date is found by
 * trying the few dates the backup can have been scheduled for. No event has to carry it, and a replay
 * finds the same date.
 */
public final class ScheduledDates {

  /** How many days before the run's UTC date its scheduled date may lie: late runs, and zones up to 14 h ahead. */
  static final int DAYS_LATE = 3;

  private ScheduledDates() {}

  /** The scheduled date of the backup, or null if its id is not one the scheduler derived (manual, or unknown). */
  public static LocalDate derive(String addonId, String backupId, BackupKind kind, Instant takenAt) {
    if (kind == BackupKind.MANUAL || addonId == null || backupId == null || takenAt == null) {
      return null;
    }
    LocalDate utcDate = LocalDate.ofInstant(takenAt, ZoneOffset.UTC);
    // a zone behind UTC (down to -12 h) or a run earlier than planned puts the date one ahead
    for (LocalDate date = utcDate.plusDays(1); !date.isBefore(utcDate.minusDays(DAYS_LATE)); date = date.minusDays(1)) {
      if (backupId.equals(idOf(addonId, date, kind))) {
        return date;
      }
    }
    return null;
  }

  /** The scheduler's id of the scheduled backup of {@code addonId} for {@code date}. */
  static String idOf(String addonId, LocalDate date, BackupKind kind) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest((addonId + '|' + date + '|' + kind.name()).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
