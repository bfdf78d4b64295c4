package dev.backstop.retention.messaging;

import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupPruned;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.Message;

/** Retention's handlers: plans from {@code backstop.addons}, outcomes from {@code backstop.backup-events}. */
@Configuration
public class RetentionMessagingConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(RetentionCatalog catalog, Pruner pruner) {
    return event -> {
      switch (event) {
        // a plan known late, or a downgrade, applies at the next evaluation
        case AddonRegistered e -> {
          if (catalog.recordPolicy(e.getAddon().getAddonId(), e.getRevision(), e.getAddon().getPlan(),
              e.getAddon().getSchedule().getTimezone(), false)) {
            pruner.requestEvaluation(e.getAddon().getAddonId(), false);
          }
        }
        case AddonChanged e -> {
          if (catalog.recordPolicy(e.getAddon().getAddonId(), e.getRevision(), e.getAddon().getPlan(),
              e.getAddon().getSchedule().getTimezone(), false)) {
            pruner.requestEvaluation(e.getAddon().getAddonId(), false);
          }
        }
        case AddonRemoved e -> catalog.recordPolicy(e.getAddonId(), e.getRevision(), null, null, true);
        default -> { }
      }
    };
  }

  @Bean
  public Consumer<Message<SpecificRecord>> backupEvents(RetentionCatalog catalog, Pruner pruner, RetentionProperties properties,
      Clock clock) {
    return message -> {
      switch (message.getPayload()) {
        case BackupCompleted e -> {
          catalog.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), true, e.getStartedAt(), e.getArchiveKey());
          pruner.requestEvaluation(e.getAddonId(), isCatchingUp(message, clock, properties));
        }
        case BackupFailed e ->
            catalog.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), false, e.getFailedAt(), null);
        case BackupPruned e -> catalog.markPruned(e.getBackupId(), e.getAddonId(), e.getReason(), e.getPrunedAt(),
            e.getPrunedAt().plus(properties.getDownloadGrace()));
        default -> { }
      }
    };
  }

  /**
   * An event written long ago is being read now: a replay, or a consumer back from downtime. Later
   * events on the topic may already prune what this one would make prunable, so evaluating now would
   * only say BackupPruned again; the addon is evaluated once the consumer has caught up.
   */
  static boolean isCatchingUp(Message<?> message, Clock clock, RetentionProperties properties) {
    Object timestamp = message.getHeaders().get(KafkaHeaders.RECEIVED_TIMESTAMP);
    return timestamp instanceof Long written
        && Duration.between(Instant.ofEpochMilli(written), clock.instant()).compareTo(properties.getCatchUpAge()) > 0;
  }
}
