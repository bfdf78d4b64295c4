package dev.backstop.scheduler.messaging;

import dev.backstop.scheduler.catalog.MissedBackupCatalog;
import dev.backstop.scheduler.catalog.MissedBackupCatalog.StoredMissed;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Feeds the watchdog's state ({@link MissedBackupCatalog}): what happened to each scheduled backup, the
 * latest successful backup of each addon, and the days already reported missed, read back from
 * {@code backstop.backup-events} so that a replay finds them before judging anything again.
 */
@Configuration
public class BackupEventsConfiguration {

  @Bean
  public Consumer<SpecificRecord> backupRequests(MissedBackupCatalog catalog) {
    return event -> {
      if (event instanceof BackupRequested e && e.getKind() == BackupKind.SCHEDULED) {
        catalog.requested(e.getBackupId(), e.getAddonId(), e.getRequestedAt());
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> backupEvents(MissedBackupCatalog catalog) {
    return event -> {
      switch (event) {
        case BackupStarted e when e.getKind() == BackupKind.SCHEDULED ->
            catalog.started(e.getBackupId(), e.getAddonId(), e.getStartedAt());
        case BackupFailed e when e.getKind() == BackupKind.SCHEDULED ->
            catalog.failed(e.getBackupId(), e.getAddonId(), e.getFailedAt(), e.getReason());
        case BackupCompleted e -> {
          if (e.getKind() == BackupKind.SCHEDULED) {
            catalog.completed(e.getBackupId(), e.getAddonId(), e.getCompletedAt());
          }
          // a backup customers can download counts for its day whatever started it
          if (e.getKind() == BackupKind.SCHEDULED || e.getKind() == BackupKind.MANUAL) {
            catalog.succeeded(e.getAddonId(), e.getCompletedAt());
          }
        }
        case BackupMissed e -> catalog.reported(new StoredMissed(e.getMissedId(), e.getAddonId(), e.getLocalDate(),
            e.getFinding().name(), e.getDetectedAt()));
        default -> { }
      }
    };
  }
}
