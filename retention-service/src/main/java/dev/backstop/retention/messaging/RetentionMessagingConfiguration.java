package dev.backstop.retention.messaging;

import dev.backstop.kit.addon.Addon;
import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.catalog.RetentionLedger;
import dev.backstop.retention.pruning.Pruner;
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
import java.util.List;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.cloud.stream.config.ListenerContainerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.Message;
import org.springframework.scheduling.annotation.Scheduled;

/** Retention's handlers: plans from {@code backstop.addons}, outcomes from {@code backstop.backup-events}. */
@Configuration
public class RetentionMessagingConfiguration {

  @Bean
  public Consumer<Message<SpecificRecord>> addonEvents(RetentionCatalog catalog, Pruner pruner, RetentionProperties properties,
      Clock clock) {
    return message -> {
      switch (message.getPayload()) {
        // a plan known late, or a downgrade, applies at the next evaluation
        case AddonRegistered e -> {
          if (catalog.recordPolicy(Addon.of(e.getAddon(), e.getRevision()), e.getOccurredAt())) {
            pruner.requestEvaluation(e.getAddon().getAddonId(), isCatchingUp(message, clock, properties));
          }
        }
        case AddonChanged e -> {
          if (catalog.recordPolicy(Addon.of(e.getAddon(), e.getRevision()), e.getOccurredAt())) {
            pruner.requestEvaluation(e.getAddon().getAddonId(), isCatchingUp(message, clock, properties));
          }
        }
        case AddonRemoved e -> catalog.recordRemoval(e.getAddonId(), e.getRevision(), e.getOccurredAt());
        default -> { }
      }
    };
  }

  /**
   * Outcomes and prunes go to the ledger in memory, a poll's worth at a time (batch mode: a replay
   * reads millions); the batch is acknowledged to Kafka (manual acknowledgement, see
   * retention-service.yml) only once a flush stored its effect.
   */
  @Bean
  public Consumer<Message<List<SpecificRecord>>> backupEvents(RetentionLedger ledger, Pruner pruner, RetentionProperties properties,
      Clock clock) {
    return batch -> {
      List<SpecificRecord> events = batch.getPayload();
      List<?> timestamps = batch.getHeaders().get(KafkaHeaders.RECEIVED_TIMESTAMP) instanceof List<?> list ? list : List.of();
      boolean old = false;
      for (int i = 0; i < events.size(); i++) {
        Object timestamp = i < timestamps.size() ? timestamps.get(i) : null;
        switch (events.get(i)) {
          case BackupCompleted e -> {
            ledger.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), true, e.getStartedAt(), e.getArchiveKey(),
                e.getPitrBase() == null ? null : e.getPitrBase().getEndTime());
            boolean catchingUp = isOld(timestamp, clock, properties);
            old |= catchingUp;
            pruner.requestEvaluation(e.getAddonId(), catchingUp);
          }
          case BackupFailed e ->
              ledger.recordOutcome(e.getBackupId(), e.getAddonId(), e.getAppName(), e.getKind(), false, e.getFailedAt(), null);
          case BackupPruned e -> ledger.markPruned(e.getBackupId(), e.getAddonId(), e.getReason(), e.getPrunedAt(),
              e.getPrunedAt().plus(properties.downloadGrace()));
          // other events, and records that could not be read (null, logged by the deserializer)
          case null, default -> { }
        }
      }
      if (batch.getHeaders().get(KafkaHeaders.ACKNOWLEDGMENT) instanceof Acknowledgment ack) {
        ledger.afterNextFlush(ack::acknowledge);
      }
      if (ledger.flushDue(pruner.deferredCount() > 0)) {
        ledger.flush();
      }
      if (old) {
        // the settle time counts from when the consumer is free to read again, not from before a long flush
        pruner.stillCatchingUp();
      }
    };
  }

  /** Polls often enough that acknowledgements made off the consumer thread are committed soon, not after a 5 s poll. */
  @Bean
  public ListenerContainerCustomizer<AbstractMessageListenerContainer<?, ?>> shortPolls() {
    return (container, destination, group) -> container.getContainerProperties().setPollTimeout(500);
  }

  /** Writes what waits once the consumer has nothing more to read. */
  @Bean
  public LedgerFlusher ledgerFlusher(RetentionLedger ledger, Pruner pruner) {
    return new LedgerFlusher(ledger, pruner);
  }

  /** Flushes the ledger on a timer, for the changes no later event comes to flush. */
  public static class LedgerFlusher {
    private final RetentionLedger ledger;
    private final Pruner pruner;

    LedgerFlusher(RetentionLedger ledger, Pruner pruner) {
      this.ledger = ledger;
      this.pruner = pruner;
    }

    @Scheduled(fixedDelay = 250)
    public void flushIfDue() {
      if (ledger.flushDue(pruner.deferredCount() > 0)) {
        ledger.flush();
      }
    }
  }

  /**
   * An event written long ago is being read now: a replay, or a consumer back from downtime. Later
   * events on the topic may already prune what this one would make prunable, so evaluating now would
   * only say BackupPruned again; the addon is evaluated once the consumer has caught up.
   */
  static boolean isCatchingUp(Message<?> message, Clock clock, RetentionProperties properties) {
    return isOld(message.getHeaders().get(KafkaHeaders.RECEIVED_TIMESTAMP), clock, properties);
  }

  private static boolean isOld(Object timestamp, Clock clock, RetentionProperties properties) {
    return timestamp instanceof Long written
        && Duration.between(Instant.ofEpochMilli(written), clock.instant()).compareTo(properties.catchUpAge()) > 0;
  }
}
