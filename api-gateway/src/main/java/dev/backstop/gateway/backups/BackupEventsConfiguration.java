package dev.backstop.gateway.backups;

import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.BackupVerified;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.bson.Document;
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
  public Consumer<SpecificRecord> backupRequests(BackupListing listing) {
    return event -> {
      // point-in-time base backups are not dumps customers download: they do not appear in the listing
      if (event instanceof BackupRequested e && e.getKind() != dev.backstop.schemas.events.BackupKind.PITR_BASE) {
        listing.advance(e.getBackupId(), Status.PENDING, requested(e));
      }
    };
  }

  /** Progress of running dumps, for the listing: read by every gateway instance (no group), from the end. */
  @Bean
  public Consumer<SpecificRecord> backupProgress(BackupProgressBoard board) {
    return event -> {
      if (event instanceof BackupProgress e) {
        board.report(e);
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> backupEvents(BackupListing listing, BackupProgressBoard progress) {
    return event -> {
      switch (event) {
        case BackupCompleted e -> progress.forget(e.getBackupId());
        case BackupFailed e -> progress.forget(e.getBackupId());
        default -> { }
      }
      switch (event) {
        case BackupStarted e -> listing.advance(e.getBackupId(), Status.RUNNING,
            base(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt()).append("node", e.getNode())
                .append("nodeReason", e.getNodeReason())
                .append("startedAt", e.getStartedAt()));
        case BackupCompleted e -> listing.advance(e.getBackupId(), Status.DONE,
            base(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
                .append("node", e.getNode())
                .append("nodeReason", e.getNodeReason())
                .append("startedAt", e.getStartedAt())
                .append("size", e.getSizeBytes())
                .append("sha256", e.getSha256())
                .append("archiveKey", e.getArchiveKey())
                .append("archiveName", e.getArchiveName())
                .append("completedAt", e.getCompletedAt()));
        case BackupFailed e -> listing.advance(e.getBackupId(), Status.FAILED,
            base(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt())
                .append("node", e.getNode())
                .append("reason", e.getReason())
                .append("completedAt", e.getFailedAt()));
        case BackupVerified e -> listing.verified(e.getBackupId(), new BackupListing.Verification(e.getPassed(),
            e.getVerifiedAt(), e.getSummary(), e.getTables(), e.getRows()));
        case BackupPruned e -> listing.advance(e.getBackupId(), Status.PRUNED,
            new Document("addonId", e.getAddonId()).append("appName", e.getAppName()).append("reason", e.getReason()));
        default -> { }
      }
    };
  }

  static Document requested(BackupRequested e) {
    return base(e.getAddonId(), e.getAppName(), e.getKind().name(), e.getRequestedAt());
  }

  private static Document base(String addonId, String appName, String kind, java.time.Instant requestedAt) {
    return new Document("addonId", addonId).append("appName", appName).append("kind", kind).append("createdAt", requestedAt);
  }
}
