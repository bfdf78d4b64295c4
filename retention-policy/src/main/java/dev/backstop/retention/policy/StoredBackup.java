package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import java.time.Instant;
import java.time.LocalDate;

/**
 * A backup as retention sees it: what it is, whether it succeeded, when it was taken (its dump
 * started, or it failed), and, for a scheduled backup, the customer's local date it was scheduled for
 * (null when unknown: the local date it was taken on stands in).
 */
public record StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt, LocalDate scheduledFor) {

  public StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt) {
    this(backupId, kind, succeeded, takenAt, null);
  }

  /** Periodic backups (everything but manual ones) stand for days, weeks and months. */
  public boolean periodic() {
    return kind != BackupKind.MANUAL;
  }
}
