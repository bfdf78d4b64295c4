package dev.backstop.retention.pruning;

import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.kit.messaging.EventPublisher.Keyed;
import dev.backstop.retention.catalog.RetentionCatalog;
import dev.backstop.retention.catalog.RetentionLedger;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.retention.policy.RetentionPolicy;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupPruned;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p>Only the addons of the partitions this instance reads are evaluated here: their records are this
 * instance's to change ({@link RetentionLedger}).
 */
@Component
public class Pruner {

  private static final Logger log = LoggerFactory.getLogger(Pruner.class);
  /** Addons evaluated together: their prunes are published in one batch. */
  private static final int CHUNK = 500;

  private final RetentionCatalog catalog;
  private final RetentionLedger ledger;
  private final AddonOwnership ownership;
  private final ArchiveStore store;
  private final EventPublisher publisher;
  private final Clock clock;
  private final RetentionProperties properties;
  private final Set<String> deferred = ConcurrentHashMap.newKeySet();
  // the consumers and the timers may evaluate at once: one evaluation at a time, so no prune is published twice
  private final Object evaluating = new Object();
  private volatile long lastCatchUp;
  private final io.micrometer.core.instrument.MeterRegistry meters;

  public Pruner(RetentionCatalog catalog, RetentionLedger ledger, AddonOwnership ownership, ArchiveStore store,
      EventPublisher publisher, Clock clock, RetentionProperties properties, io.micrometer.core.instrument.MeterRegistry meters) {
    this.meters = meters;
    this.catalog = catalog;
    this.ledger = ledger;
    this.ownership = ownership;
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
    evaluateAndPurge(List.of(addonId));
  }

  /** Reading old events goes on: the settle time starts again. */
  public void stillCatchingUp() {
    lastCatchUp = System.nanoTime();
  }

  /** Addons waiting for reading to catch up before they are evaluated. */
  public int deferredCount() {
    return deferred.size();
  }

  /** Runs the deferred evaluations once no old event has been read for the settle time. */
  @Scheduled(fixedDelay = 1000)
  public void evaluateDeferred() {
    if (deferred.isEmpty() || System.nanoTime() - lastCatchUp < properties.settleTime().toNanos()) {
      return;
    }
    // they stay deferred until evaluated: meanwhile the consumer keeps holding its writes back
    List<String> due = new ArrayList<>(deferred);
    evaluateAndPurge(due);
    // what the catch-up gathered, and the prunes, in one write rather than piecemeal
    ledger.flush();
    due.forEach(deferred::remove);
  }

  /**
   * Every addon, on a timer as well as on each completion: backups of removed addons, and failed
   * records, age out without any new event.
   */
  @Scheduled(fixedDelayString = "${backstop.retention.interval:PT1H}", initialDelayString = "${backstop.retention.interval:PT1H}")
  public void evaluateAll() {
    evaluateAndPurge(ledger.addonIds());
  }

  private void evaluateAndPurge(Collection<String> addonIds) {
    List<String> owned = addonIds.stream().filter(ownership::owns).toList();
    synchronized (evaluating) {
      for (int from = 0; from < owned.size(); from += CHUNK) {
        List<String> chunk = owned.subList(from, Math.min(owned.size(), from + CHUNK));
        ledger.preload(chunk);
        evaluate(chunk);
        chunk.forEach(this::purgeDue);
      }
    }
  }

  /** Evaluates addons now: prunes what no rule keeps, all their BackupPruned published in one batch. */
  void evaluate(List<String> addonIds) {
    // events and the store keep milliseconds: the same instant read back from BackupPruned must compare equal
    Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    List<Keyed> prunes = new ArrayList<>();
    java.util.Map<String, String> plans = new java.util.HashMap<>();
    var policies = catalog.policies(addonIds);
    for (String addonId : addonIds) {
      var policy = policies.get(addonId);
      if (policy == null) {
        log.warn("addon {} has backups but no known plan: nothing is deleted until its plan is known", addonId);
        continue;
      }
      var records = ledger.liveBackups(addonId).stream()
          .collect(Collectors.toMap(r -> r.backup().backupId(), Function.identity()));
      var decision = RetentionPolicy.evaluate(policy.history(), policy.zone(), now,
          records.values().stream().map(RetentionLedger.Record::backup).toList(), ledger.prunedBackups(addonId));
      for (var pruned : decision.pruned()) {
        var record = records.get(pruned.backup().backupId());
        prunes.add(new Keyed(addonId, new BackupPruned(pruned.backup().backupId(), addonId, record.appName(), now, pruned.reason())));
      }
      plans.put(addonId, policy.plan() == null ? "unknown" : policy.plan().name().toLowerCase(java.util.Locale.ROOT));
    }
    // the events first: a record marked pruned always has its BackupPruned on the topic
    publisher.publishAll(Topics.BACKUP_EVENTS, prunes);
    for (Keyed keyed : prunes) {
      BackupPruned pruned = (BackupPruned) keyed.event();
      ledger.markPruned(pruned.getBackupId(), pruned.getAddonId(), pruned.getReason(), now, now.plus(properties.downloadGrace()));
      io.micrometer.core.instrument.Counter.builder("backstop.backups.pruned")
          .description("Backups retention pruned (their archive is deleted after the download grace period)")
          .tag("plan", plans.getOrDefault(pruned.getAddonId(), "unknown")).register(meters).increment();
      log.info("pruned backup {} of addon {} (archive deleted after the download grace period): {}",
          pruned.getBackupId(), pruned.getAddonId(), pruned.getReason());
    }
  }

  /** Deletes the archives of the addon's pruned backups whose grace period is over. */
  void purgeDue(String addonId) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    for (var purge : ledger.duePurges(addonId, now)) {
      try {
        boolean deleted = purge.archiveKey() != null && store.delete(purge.archiveKey());
        log.info("purged backup {} of addon {}: {}", purge.backupId(), purge.addonId(),
            deleted ? "archive deleted" : "no archive left to delete");
      } catch (IOException e) {
        throw new UncheckedIOException("could not delete the archive of backup " + purge.backupId(), e);
      }
      ledger.markPurged(addonId, purge.backupId(), now);
    }
  }
}
