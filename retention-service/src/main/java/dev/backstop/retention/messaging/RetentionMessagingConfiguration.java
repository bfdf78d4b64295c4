package dev.backstop.retention.messaging;

import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupPruned;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Retention's handlers: plans from {@code backstop.addons}, outcomes from {@code backstop.backup-events}. */
@Configuration
public class RetentionMessagingConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(RetentionCatalog catalog, Pruner pruner) {
    return event -> {
      switch (event) {
        case AddonRegistered e -> catalog.recordPolicy(e.getAddon().getAddonId(), e.getRevision(), e.getAddon().getPlan(),
            e.getAddon().getSchedule().getTimezone(), false);
        case AddonChanged e -> {
          // a downgrade prunes at once what the smaller plan no longer keeps
          if (catalog.recordPolicy(e.getAddon().getAddonId(), e.getRevision(), e.getAddon().getPlan(),
              e.getAddon().getSchedule().getTimezone(), false)) {
            pruner.evaluate(e.getAddon().getAddonId());
          }
        }
        case AddonRemoved e -> catalog.recordPolicy(e.getAddonId(), e.getRevision(), null, null, true);
        default -> { }
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> backupEvents(RetentionCatalog catalog, Pruner pruner, RetentionProperties properties) {
    return event -> {
      switch (event) {
        case BackupCompleted e -> {
          catalog.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), true, e.getStartedAt(), e.getArchiveKey());
          pruner.evaluate(e.getAddonId());
          pruner.purgeDue();
        }
        case BackupFailed e ->
            catalog.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), false, e.getFailedAt(), null);
        case BackupPruned e -> catalog.markPruned(e.getBackupId(), e.getAddonId(), e.getReason(), e.getPrunedAt(),
            e.getPrunedAt().plus(properties.getDownloadGrace()));
        default -> { }
      }
    };
  }
}
