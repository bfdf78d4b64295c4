package dev.backstop.retention.messaging;

import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.policy.RetentionPolicy;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupPruned;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Applies the retention policy to one addon: deletes each archive no rule keeps, then says so with a
 * BackupPruned. Each step is idempotent, so a crash half-way or a replay repeats nothing harmful: an
 * archive already gone is a no-op delete, a second BackupPruned is dropped by its consumers.
 */
@Component
public class Pruner {

  private static final Logger log = LoggerFactory.getLogger(Pruner.class);

  private final RetentionCatalog catalog;
  private final ArchiveStore store;
  private final EventPublisher publisher;
  private final Clock clock;

  public Pruner(RetentionCatalog catalog, ArchiveStore store, EventPublisher publisher, Clock clock) {
    this.catalog = catalog;
    this.store = store;
    this.publisher = publisher;
    this.clock = clock;
  }

  public void evaluate(String addonId) {
    var plan = catalog.plan(addonId);
    if (plan.isEmpty()) {
      log.warn("addon {} has backups but no known plan: nothing is deleted until its plan is known", addonId);
      return;
    }
    var records = catalog.liveBackups(addonId).stream()
        .collect(Collectors.toMap(r -> r.backup().backupId(), Function.identity()));
    var decision = RetentionPolicy.evaluate(plan.get(), records.values().stream().map(RetentionCatalog.Record::backup).toList());
    for (var pruned : decision.pruned()) {
      var record = records.get(pruned.backup().backupId());
      try {
        boolean deleted = record.archiveKey() != null && store.delete(record.archiveKey());
        log.info("pruned backup {} of addon {} ({}): {}", pruned.backup().backupId(), addonId,
            deleted ? "archive deleted" : "archive already gone", pruned.reason());
      } catch (IOException e) {
        throw new UncheckedIOException("could not delete the archive of backup " + pruned.backup().backupId(), e);
      }
      var now = clock.instant();
      publisher.publish(Topics.BACKUP_EVENTS, addonId,
          new BackupPruned(pruned.backup().backupId(), addonId, record.appName(), now, pruned.reason()));
      catalog.markPruned(pruned.backup().backupId(), addonId, pruned.reason(), now);
    }
  }
}
