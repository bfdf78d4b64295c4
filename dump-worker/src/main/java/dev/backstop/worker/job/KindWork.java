package dev.backstop.worker.job;

import dev.backstop.schemas.events.BackupKind;

/**
 * The work of one kind of backup request that is not a dump (PITR base backups, point-in-time
 * restores): requests of {@link #kind()} are recorded in the same ledger as dumps and run by the same
 * {@link JobRunner}, which hands each claimed job of that kind here instead of to the dump. A Spring
 * bean implementing this is all a new kind needs.
 */
public interface KindWork extends JobRunner.Work {

  /** The kind of request this work runs. */
  BackupKind kind();
}
