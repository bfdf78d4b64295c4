package dev.backstop.worker.job;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.worker.archive.ArchivePacker;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.AddonCatalog.Addon;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.dump.DumpEngine;
import dev.backstop.worker.dump.DumpFailedException;
import dev.backstop.worker.dump.DumpFailures;
import dev.backstop.worker.dump.DumpPlanner;
import dev.backstop.worker.dump.DumpTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Turns one BackupRequested into a stored archive and exactly one BackupCompleted or BackupFailed.
 * Every failure the customer can act on (refused connection, wrong password, unknown database,
 * timeout) ends as BackupFailed with the reason, and so does an archive that cannot be packed or
 * stored; only Kafka and MongoDB errors escape, so that the request is redelivered.
 */
@Component
public class BackupJob {

  private static final Logger log = LoggerFactory.getLogger(BackupJob.class);

  private final AddonCatalog addons;
  private final JobLedger ledger;
  private final ArchiveStore store;
  private final EventPublisher publisher;
  private final SecretSealer sealer;
  private final Map<Engine, DumpEngine> engines;
  private final WorkerProperties properties;
  private final Clock clock;
  private final ArchiveCipher cipher;
  private final boolean encrypt;

  public BackupJob(AddonCatalog addons, JobLedger ledger, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, DumpEngine> engines, WorkerProperties properties, Clock clock,
      ArchiveCipher cipher, BackstopProperties backstop) {
    this.cipher = cipher;
    this.encrypt = backstop.getArchive().isEncrypt();
    this.addons = addons;
    this.ledger = ledger;
    this.store = store;
    this.publisher = publisher;
    this.sealer = sealer;
    this.engines = engines;
    this.properties = properties;
    this.clock = clock;
  }

  public void handle(BackupRequested request) throws IOException {
    if (request.getKind() == BackupKind.PITR_BASE || request.getKind() == BackupKind.UNKNOWN) {
      // base backups for point-in-time recovery are the PITR service's, which is not part of this worker
      log.debug("backup {} is a {} request: not a dump, left to its own service", request.getBackupId(), request.getKind());
      return;
    }
    Instant now = clock.instant();
    if (!ledger.claim(request.getBackupId(), properties.getInstanceName(), now, now.plus(longestRun()))) {
      log.info("backup {} is finished or running elsewhere: request dropped", request.getBackupId());
      return;
    }
    Optional<Addon> found = awaitAddon(request.getAddonId());
    if (found.isEmpty()) {
      fail(request, null, "addon " + request.getAddonId() + " is not registered with Backstop");
      return;
    }
    Addon addon = found.get();
    if (addon.plan() == Plan.SANDBOX) {
      fail(request, null, "Sandbox plans have no backups");
      return;
    }
    if (addon.removed() && request.getKind() != BackupKind.MANUAL) {
      fail(request, null, "the addon was removed");
      return;
    }
    var choice = DumpPlanner.choose(addon.plan(), addon.nodes());
    if (choice.isEmpty()) {
      fail(request, null, "the addon has no primary node to dump");
      return;
    }
    DumpEngine engine = engines.get(addon.engine());
    if (engine == null) {
      fail(request, choice.get().label(), addon.engine() + " databases cannot be dumped by this worker");
      return;
    }
    run(request, addon, choice.get(), engine);
  }

  private void run(BackupRequested request, Addon addon, DumpPlanner.Choice choice, DumpEngine engine) throws IOException {
    Instant startedAt = clock.instant();
    publisher.publish(Topics.BACKUP_EVENTS, addon.addonId(), new BackupStarted(request.getBackupId(), addon.addonId(),
        addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, choice.label(), properties.getInstanceName()));
    log.info("backup {} of addon {} started on {} ({})", request.getBackupId(), addon.addonId(), choice.label(), choice.why());

    Files.createDirectories(properties.getWorkDirectory());
    Path scratch = Files.createTempDirectory(properties.getWorkDirectory(), request.getBackupId() + "-");
    try {
      Path dump = scratch.resolve("dump");
      String password;
      try {
        password = sealer.open(addon.addonId(), addon.password());
      } catch (IllegalStateException e) {
        fail(request, choice.label(), "the stored credentials cannot be read: " + e.getMessage());
        return;
      }
      var node = choice.node();
      var target = new DumpTarget(node.getHost(), node.getPort(), addon.database(), addon.user(), password);
      for (int attempt = 1; ; attempt++) {
        try {
          engine.dump(target, dump, scratch);
          break;
        } catch (DumpFailedException e) {
          if (attempt >= properties.getDumpAttempts() || !DumpFailures.isTransient(e.getMessage())) {
            fail(request, choice.label(), attempt == 1 ? e.getMessage() : e.getMessage() + " (after " + attempt + " attempts)");
            return;
          }
          Duration wait = properties.getRetryBackoff().multipliedBy(1L << (attempt - 1));
          log.warn("backup {} of addon {}: attempt {} of {} failed, retrying in {}: {}", request.getBackupId(), addon.addonId(),
              attempt, properties.getDumpAttempts(), wait, e.getMessage());
          Files.deleteIfExists(dump);
          sleep(wait);
        }
      }
      String archiveName = ArchivePacker.archiveName(startedAt, addon.database());
      String key = addon.addonId() + "/" + request.getBackupId() + "/" + archiveName + (encrypt ? ArchiveCipher.SUFFIX : "");
      ArchivePacker.Packed packed;
      try {
        packed = ArchivePacker.pack(dump, engine.dumpFileName(addon.database()), startedAt, scratch.resolve(archiveName));
        Path stored = packed.file();
        if (encrypt) {
          // size and SHA-256 stay those of the plaintext archive: what customers download and check
          stored = scratch.resolve(archiveName + ArchiveCipher.SUFFIX);
          cipher.encrypt(addon.addonId(), key, packed.file(), stored);
        }
        store.put(key, stored);
      } catch (IOException e) {
        // a full disk or an unreachable store: the backup ends failed with the reason, never stuck running
        fail(request, choice.label(), "the archive could not be stored: " + e.getMessage());
        return;
      }
      publisher.publish(Topics.BACKUP_EVENTS, addon.addonId(), new BackupCompleted(request.getBackupId(), addon.addonId(),
          addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, clock.instant(), choice.label(), key,
          archiveName, packed.size(), packed.sha256()));
      ledger.finish(request.getBackupId(), JobLedger.State.DONE);
      log.info("backup {} of addon {} done: {} ({} bytes, sha256 {})", request.getBackupId(), addon.addonId(), archiveName,
          packed.size(), packed.sha256());
    } finally {
      deleteTree(scratch);
    }
  }

  /** How long a job may hold its lease: every attempt running to its timeout, and the waits between them. */
  private Duration longestRun() {
    Duration run = properties.getDumpTimeout().multipliedBy(properties.getDumpAttempts()).plusSeconds(60);
    for (int attempt = 1; attempt < properties.getDumpAttempts(); attempt++) {
      run = run.plus(properties.getRetryBackoff().multipliedBy(1L << (attempt - 1)));
    }
    return run;
  }

  private static void sleep(Duration wait) throws IOException {
    try {
      Thread.sleep(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting to retry");
    }
  }

  private void fail(BackupRequested request, String node, String reason) {
    publisher.publish(Topics.BACKUP_EVENTS, request.getAddonId(), new BackupFailed(request.getBackupId(),
        request.getAddonId(), request.getAppName(), request.getKind(), request.getRequestedAt(), clock.instant(), node, reason));
    ledger.finish(request.getBackupId(), JobLedger.State.FAILED);
    log.warn("backup {} of addon {} failed: {}", request.getBackupId(), request.getAddonId(), reason);
  }

  /** The addons topic and the requests topic are read independently: a brand-new addon may lag its first request. */
  private Optional<Addon> awaitAddon(String addonId) {
    long deadline = System.nanoTime() + properties.getAddonWait().toNanos();
    while (true) {
      Optional<Addon> addon = addons.find(addonId);
      if (addon.isPresent() || System.nanoTime() > deadline) {
        return addon;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not clean {}: {}", root, e.getMessage());
    }
  }
}
