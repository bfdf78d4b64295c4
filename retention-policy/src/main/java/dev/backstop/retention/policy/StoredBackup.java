package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import java.time.Instant;

/** A backup as retention sees it: what it is, whether it succeeded, and when it was taken. */
public record StoredBackup(String backupId, BackupKind kind, boolean succeeded, Instant takenAt) {}
