package dev.backstop.retention.messaging;

import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.retention.policy.RetentionPolicy;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupPruned;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Applies the retention policy. A backup no rule keeps is pruned in two steps: it leaves the listing at
 * once (BackupPruned), and its archive is deleted once the download grace period is over, so that a
 * download under way is not cut off. Each step is idempotent: a replay or a crash half-way repeats
 * nothing harmful (an archive already gone is a no-op delete, a repeated BackupPruned is dropped).
 */
@Component
public class Pruner {

  private static final Logger log = LoggerFactory.getLogger(Pruner.class);

  private final RetentionCatalog catalog;
  private final ArchiveStore store;
  private final EventPublisher publisher;
  private final Clock clock;
  private final RetentionProperties properties;

  public Pruner(RetentionCatalog catalog, ArchiveStore store, EventPublisher publisher, Clock clock,
      RetentionProperties properties) {
    this.catalog = catalog;
    this.store = store;
    this.publisher = publisher;
    this.clock = clock;
    this.properties = properties;
  }

  /** Evaluates one addon now: prunes what no rule keeps. */
  public void evaluate(String addonId) {
    var policy = catalog.policy(addonId);
    if (policy.isEmpty()) {
      log.warn("addon {} has backups but no known plan: nothing is deleted until its plan is known", addonId);
      return;
    }
    Instant now = clock.instant();
    var records = catalog.liveBackups(addonId).stream()
        .collect(Collectors.toMap(r -> r.backup().backupId(), Function.identity()));
    var decision = RetentionPolicy.evaluate(policy.get().plan(), policy.get().zone(), now,
        records.values().stream().map(RetentionCatalog.Record::backup).toList());
    for (var pruned : decision.pruned()) {
      var record = records.get(pruned.backup().backupId());
      publisher.publish(Topics.BACKUP_EVENTS, addonId,
          new BackupPruned(pruned.backup().backupId(), addonId, record.appName(), now, pruned.reason()));
      catalog.markPruned(pruned.backup().backupId(), addonId, pruned.reason(), now, now.plus(properties.getDownloadGrace()));
      log.info("pruned backup {} of addon {} (archive deleted after the download grace period): {}",
          pruned.backup().backupId(), addonId, pruned.reason());
    }
  }

  /** Deletes the archives of pruned backups whose grace period is over. */
  public void purgeDue() {
    Instant now = clock.instant();
    for (var purge : catalog.duePurges(now)) {
      try {
        boolean deleted = purge.archiveKey() != null && store.delete(purge.archiveKey());
        log.info("purged backup {} of addon {}: {}", purge.backupId(), purge.addonId(),
            deleted ? "archive deleted" : "no archive left to delete");
      } catch (IOException e) {
        throw new UncheckedIOException("could not delete the archive of backup " + purge.backupId(), e);
      }
      catalog.markPurged(purge.backupId(), now);
    }
  }

  /**
   * Every addon, on a timer as well as on each completion: backups of removed addons, and failed
   * records, age out without any new event.
   */
  @Scheduled(fixedDelayString = "${backstop.retention.interval:PT1H}", initialDelayString = "${backstop.retention.interval:PT1H}")
  public void evaluateAll() {
    for (String addonId : catalog.addonsWithLiveBackups()) {
      evaluate(addonId);
    }
    purgeDue();
  }
}
