package dev.backstop.gateway.backups;

import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.gateway.backups.BackupListing.Stage;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.pitr.PitrProjection;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.WalArchived;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Builds the gateway's addon catalog and backup listing from the topics. */
@Configuration
public class BackupEventsConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(KnownAddons catalog) {
    return catalog.consumer();
  }

  @Bean
  public Consumer<SpecificRecord> backupRequests(BackupListing listing, BackupWatch watch) {
    return event -> {
      // point-in-time base backups are not dumps customers download: they do not appear in the listing
      if (event instanceof BackupRequested e && e.getKind() != BackupKind.PITR_BASE) {
        listing.advance(e.getBackupId(), Status.PENDING, requested(e));
        watch.changed(e.getBackupId());
      }
    };
  }

  /** Progress of running dumps, for the listing: read by every gateway instance (no group), from the end. */
  @Bean
  public Consumer<SpecificRecord> backupProgress(BackupProgressBoard board, BackupWatch watch) {
    return event -> {
      if (event instanceof BackupProgress e) {
        board.report(e);
        watch.changed(e.getBackupId());
      }
    };
  }

  /** Each addon's newest point-in-time recovery window, from the wal-archiver. */
  @Bean
  public Consumer<SpecificRecord> pitrEvents(PitrProjection pitr) {
    return event -> {
      if (event instanceof PitrWindowChanged e) {
        pitr.window(e);
      }
    };
  }

  /** The archiver's reports, whose {@code latest} moves the window's restorable end every few seconds. */
  @Bean
  public Consumer<SpecificRecord> pitrProgress(PitrProjection pitr) {
    return event -> {
      if (event instanceof WalArchived e) {
        pitr.archived(e);
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> backupEvents(BackupListing listing, BackupProgressBoard progress, MissedBackups missed,
      PitrProjection pitr, BackupWatch watch) {
    return event -> {
      recordBackupEvent(event, listing, progress, missed, pitr);
      watch.changed(backupIdOf(event));
    };
  }

  private static void recordBackupEvent(SpecificRecord event, BackupListing listing, BackupProgressBoard progress,
      MissedBackups missed, PitrProjection pitr) {
    switch (event) {
      case BackupCompleted e -> progress.forget(e.getBackupId());
      case BackupFailed e -> progress.forget(e.getBackupId());
      default -> { }
    }
    // point-in-time base backups are not dumps customers download: operators see them under /pitr
    switch (event) {
      case BackupStarted e when e.getKind() == BackupKind.PITR_BASE -> {
        pitr.started(e);
        return;
      }
      case BackupCompleted e when e.getKind() == BackupKind.PITR_BASE -> {
        pitr.completed(e);
        return;
      }
      case BackupFailed e when e.getKind() == BackupKind.PITR_BASE -> {
        pitr.failed(e);
        return;
      }
      case BackupPruned e when pitr.pruned(e) -> {
        return;
      }
      default -> { }
    }
    switch (event) {
      case BackupStarted e -> listing.advance(e.getBackupId(), Status.RUNNING,
          Stage.requested(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
              .started(e.getNode(), e.getNodeReason(), e.getStartedAt()));
      case BackupCompleted e -> listing.advance(e.getBackupId(), Status.DONE,
          Stage.requested(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
              .started(e.getNode(), e.getNodeReason(), e.getStartedAt())
              .completed(e.getSizeBytes(), e.getSha256(), e.getArchiveKey(), e.getArchiveName(), e.getCompletedAt())
              .restoringTo(e.getPitrTargetTime()));
      case BackupFailed e -> listing.advance(e.getBackupId(), Status.FAILED,
          Stage.requested(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
              .started(e.getNode(), null, null)
              .failed(e.getReason(), e.getFailedAt()));
      case BackupVerified e -> listing.verified(e.getBackupId(), new BackupListing.Verification(e.getPassed(),
          e.getVerifiedAt(), e.getSummary(), e.getTables(), e.getRows()));
      case BackupPruned e -> listing.advance(e.getBackupId(), Status.PRUNED,
          Stage.pruned(e.getAddonId(), e.getAppName(), e.getReason()));
      case BackupMissed e -> missed.record(e);
      default -> { }
    }
  }

  /** The backup an event of {@code backstop.backup-events} is about; null for one about a day ({@code BackupMissed}). */
  static String backupIdOf(SpecificRecord event) {
    return switch (event) {
      case BackupStarted e -> e.getBackupId();
      case BackupCompleted e -> e.getBackupId();
      case BackupFailed e -> e.getBackupId();
      case BackupVerified e -> e.getBackupId();
      case BackupPruned e -> e.getBackupId();
      default -> null;
    };
  }

  static Stage requested(BackupRequested e) {
    return Stage.requested(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
        .restoringTo(e.getPitr() == null ? null : e.getPitr().getTargetTime());
  }
}
