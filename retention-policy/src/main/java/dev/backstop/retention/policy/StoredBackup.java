package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import java.time.Instant;
import java.time.LocalDate;

/**
 * A backup as retention sees it: what it is, whether it succeeded, when it was taken (its dump
 * started, or it failed), and, for a scheduled backup, the customer's local date it was scheduled for
 * (null when unknown: the local date it was taken on stands in). A point-in-time base backup also says
 * when it ended ({@code pitrEndTime}, the first instant it can restore; null for every other kind).
 */
public record StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt, LocalDate scheduledFor,
    Instant pitrEndTime) {

  public StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt, LocalDate scheduledFor) {
    this(backupId, kind, succeeded, takenAt, scheduledFor, null);
  }

  public StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt) {
    this(backupId, kind, succeeded, takenAt, null, null);
  }

  /** Periodic dumps (scheduled ones) stand for days, weeks and months; manual and point-in-time ones do not. */
  public boolean periodic() {
    return kind != BackupKind.MANUAL && !pointInTime();
  }

  /** A point-in-time recovery base or restore result: kept by {@link PitrRetention}, not by the dump rules. */
  public boolean pointInTime() {
    return kind == BackupKind.PITR_BASE || kind == BackupKind.PITR_RESTORE;
  }

  /** When a base backup can first restore: its end time, or when it was taken if no end was recorded. */
  Instant restorableFrom() {
    return pitrEndTime != null ? pitrEndTime : takenAt;
  }
}
