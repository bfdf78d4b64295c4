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
  private final java.util.Set<String> deferred = java.util.concurrent.ConcurrentHashMap.newKeySet();
  // the addons consumer, the backup-events consumer and the timers may evaluate one addon at once: one at a time
  private final Object[] addonLocks = java.util.stream.Stream.generate(Object::new).limit(64).toArray();
  private volatile long lastCatchUp;

  public Pruner(RetentionCatalog catalog, ArchiveStore store, EventPublisher publisher, Clock clock,
      RetentionProperties properties) {
    this.catalog = catalog;
    this.store = store;
    this.publisher = publisher;
    this.clock = clock;
    this.properties = properties;
  }

  /**
   * Evaluates the addon now, or, while reading old events ({@code catchingUp}), once reading has
   * caught up: by then the topic's own BackupPruned events have been read too, so nothing is pruned
   * twice. Deferred addons live in memory only; if the service stops, the hourly evaluation of every
   * addon covers them.
   */
  public void requestEvaluation(String addonId, boolean catchingUp) {
    if (catchingUp) {
      deferred.add(addonId);
      lastCatchUp = System.nanoTime();
      return;
    }
    evaluateAndPurge(addonId);
  }

  private void evaluateAndPurge(String addonId) {
    synchronized (addonLocks[Math.floorMod(addonId.hashCode(), addonLocks.length)]) {
      evaluate(addonId);
      purgeDue(addonId);
    }
  }

  /** Addons waiting for reading to catch up before they are evaluated. */
  public int deferredCount() {
    return deferred.size();
  }

  /** Runs the deferred evaluations once no old event has been read for the settle time. */
  @Scheduled(fixedDelay = 1000)
  public void evaluateDeferred() {
    if (deferred.isEmpty() || System.nanoTime() - lastCatchUp < properties.getSettleTime().toNanos()) {
      return;
    }
    for (var it = deferred.iterator(); it.hasNext(); ) {
      String addonId = it.next();
      it.remove();
      evaluateAndPurge(addonId);
    }
  }

  /** Evaluates one addon now: prunes what no rule keeps. */
  void evaluate(String addonId) {
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

  /** Deletes the archives of the addon's pruned backups whose grace period is over. */
  void purgeDue(String addonId) {
    Instant now = clock.instant();
    for (var purge : catalog.duePurges(addonId, now)) {
      try {
        boolean deleted = purge.archiveKey() != null && store.delete(purge.archiveKey());
        log.info("purged backup {} of addon {}: {}", purge.backupId(), purge.addonId(),
            deleted ? "archive deleted" : "no archive left to delete");
      } catch (IOException e) {
        throw new UncheckedIOException("could not delete the archive of backup " + purge.backupId(), e);
      }
      catalog.markPurged(addonId, purge.backupId(), now);
    }
  }

  /**
   * Every addon, on a timer as well as on each completion: backups of removed addons, and failed
   * records, age out without any new event.
   */
  @Scheduled(fixedDelayString = "${backstop.retention.interval:PT1H}", initialDelayString = "${backstop.retention.interval:PT1H}")
  public void evaluateAll() {
    for (String addonId : catalog.addonIds()) {
      evaluateAndPurge(addonId);
    }
  }
}
