package dev.backstop.worker.verify;

import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.job.JobLifecycle;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves each completed backup restorable: reads its archive back from the store as a customer would
 * download it, checks it against the size and SHA-256 its {@code BackupCompleted} announced, restores
 * the dump into a scratch database with the engine's own client, counts what it holds, and publishes
 * one {@code BackupVerified} saying whether all of that worked.
 *
 * <p>Idempotent and crash-safe the way dumps are: each test is held through a {@link JobLedger} of its
 * own (collection {@code verifications}) with a lease its heartbeat renews, and its outcome is recorded
 * there before it is published. A replayed or redelivered completion of a backup already tested is
 * dropped; a test whose verifier died mid-restore is taken over by the next once the lease runs out.
 *
 * <p>The consumer only {@link #record records} each completion; a job runner of its own
 * ({@code concurrent-restores} threads) {@link #execute executes} the tests.
 *
 * <p>Only the backup itself can fail a test. The store or the scratch server being unreachable is the
 * verifier's own trouble: the test is tried again after a backoff, and after the last attempt the
 * backup stays "not verified yet" rather than being reported unrestorable.
 */
public class RestoreVerification {

  private static final Logger log = LoggerFactory.getLogger(RestoreVerification.class);

  private final JobLedger ledger;
  private final AddonCatalog addons;
  private final ArchiveReader archives;
  private final EventPublisher publisher;
  private final Map<Engine, RestoreEngine> engines;
  private final VerifierProperties verifier;
  private final WorkerProperties worker;
  private final Clock clock;
  private final ScratchServerGuard guard;
  private final JobLifecycle lifecycle;
  private final dev.backstop.worker.backup.BackupMetrics metrics;

  /** A verification whose metrics are not exported (tests, tools). */
  public RestoreVerification(JobLedger ledger, AddonCatalog addons, ArchiveReader archives,
      EventPublisher publisher, Map<Engine, RestoreEngine> engines, VerifierProperties verifier, WorkerProperties worker,
      Clock clock) {
    this(ledger, addons, archives, publisher, engines, verifier, worker, clock,
        dev.backstop.worker.backup.BackupMetrics.unexported());
  }

  public RestoreVerification(JobLedger ledger, AddonCatalog addons, ArchiveReader archives,
      EventPublisher publisher, Map<Engine, RestoreEngine> engines, VerifierProperties verifier, WorkerProperties worker,
      Clock clock, dev.backstop.worker.backup.BackupMetrics metrics) {
    this.metrics = metrics;
    this.ledger = ledger;
    this.addons = addons;
    this.archives = archives;
    this.publisher = publisher;
    this.engines = engines;
    this.verifier = verifier;
    this.worker = worker;
    this.clock = clock;
    this.lifecycle = new JobLifecycle("restore test", ledger, publisher, worker.instanceName(), worker.leaseDuration(),
        worker.heartbeatInterval(), clock);
    this.guard = new ScratchServerGuard(verifier.databasePrefix(), verifier.allowSharedServer(), worker.workDirectory());
  }

  private dev.backstop.worker.pitr.BaseRestoreTest baseTest;

  /** Tests PITR_BASE backups too (recovered to their end and started on a scratch server of their own). */
  @org.springframework.beans.factory.annotation.Autowired(required = false)
  public void baseRestoreTest(dev.backstop.worker.pitr.BaseRestoreTest test) {
    this.baseTest = test;
  }

  /** A base backup's test: its own scratch server, not the restore engine's; null when the addon is unknown. */
  private BackupVerified testBase(BackupCompleted completed, int attempt) throws IOException {
    var addon = addons.find(completed.getAddonId());
    if (addon.isEmpty()) {
      return null;
    }
    return baseTest.test(completed, attempt, addon.get().user(), addon.get().database());
  }

  /** Checks the scratch servers once at startup, in the background: a refusal is then logged from the start. */
  public void checkScratchServers() {
    if (verifier.enabled()) {
      Thread.ofVirtual().name("scratch-server-check").start(() -> guard.checkAtStartup(engines.values()));
    }
  }

  /** The restore tests' ledger, which their runner claims from. */
  JobLedger ledger() {
    return ledger;
  }

  @PreDestroy
  void stopHeartbeats() {
    lifecycle.close();
  }

  /**
   * Records {@code completed}'s backup as a restore test to run, unless verification is off, it is
   * too old, or it is not a dump; true if the test is new (or was given up and is tried afresh). A
   * replayed or redelivered completion of a backup tested, being tested or waiting changes nothing.
   */
  public boolean record(BackupCompleted completed) {
    if (!verifier.enabled() || (completed.getKind() == BackupKind.PITR_BASE && baseTest == null)
        || completed.getKind() == BackupKind.UNKNOWN) {
      return false;
    }
    if (completed.getCompletedAt().isBefore(clock.instant().minus(verifier.maxAge()))) {
      log.debug("backup {} completed more than {} ago: not verified", completed.getBackupId(), verifier.maxAge());
      return false;
    }
    return ledger.record(completed.getBackupId(), completed.getAddonId(), EventCodec.get().encode(completed), clock.instant());
  }

  /**
   * Runs one restore test a {@link dev.backstop.worker.job.JobRunner} claimed, or publishes the
   * outcome an earlier verifier recorded but did not publish. The verifier's own trouble (scratch
   * server, store, catalog) reschedules the test after its backoff, {@code attempts} times in all;
   * then the test is given up without an outcome, and the backup stays "not verified yet".
   */
  public void execute(JobLedger.Job claimed) throws IOException {
    BackupCompleted completed = (BackupCompleted) EventCodec.get().decode(claimed.request());
    String backupId = completed.getBackupId();
    if (lifecycle.publishRecordedOutcome(claimed, completed.getAddonId())) {
      return;
    }
    String me = worker.instanceName();
    try (JobLifecycle.Heartbeat heartbeat = lifecycle.leaseHeartbeat(backupId)) {
      BackupVerified outcome;
      try {
        if (completed.getKind() == BackupKind.PITR_BASE) {
          outcome = testBase(completed, claimed.attempt());
        } else {
          if (!scratchServer(() -> guard.permits(engineFor(completed)))) {
            // a server holding other databases: no test, and none until a replay brings the completion again
            ledger.abandon(claimed.id(), me, claimed.failures(), "the scratch server holds other databases");
            return;
          }
          outcome = test(completed, claimed.attempt());
        }
      } catch (InterruptedIOException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw e;
        }
        tryLater(claimed, e);
        return;
      }
      if (outcome != null) {
        settle(completed, outcome);
      }
    }
  }

  /** Not the backup's fault: the test waits its backoff in the queue, or is given up after the last attempt. */
  private void tryLater(JobLedger.Job claimed, Exception trouble) {
    int failures = claimed.failures() + 1;
    String reason = trouble.getMessage() == null ? trouble.toString() : trouble.getMessage();
    String me = worker.instanceName();
    if (failures >= verifier.attempts()) {
      ledger.abandon(claimed.id(), me, failures, reason);
      log.warn("backup {}: restore test given up after {} attempts, the backup stays not verified: {}", claimed.id(),
          failures, reason);
      return;
    }
    Duration wait = JobLifecycle.backoff(verifier.retryBackoff(), failures, verifier.maxRetryBackoff());
    ledger.reschedule(claimed.id(), me, clock.instant().plus(wait), failures, reason);
    log.warn("backup {}: restore test attempt {} of {} could not run, tried again in {}: {}", claimed.id(), failures,
        verifier.attempts(), wait, reason);
  }


  /** Records the outcome, then publishes it; the outcome of a test another verifier took over is dropped. */
  private void settle(BackupCompleted completed, BackupVerified outcome) {
    JobLedger.State state = outcome.getPassed() ? JobLedger.State.DONE : JobLedger.State.FAILED;
    if (!lifecycle.settle(completed.getBackupId(), completed.getAddonId(), state, outcome)) {
      return;
    }
    metrics.restoreTested(addons.find(completed.getAddonId()).orElse(null), outcome.getPassed(),
        Duration.ofMillis(outcome.getRestoreMillis()), outcome.getRows());
    if (outcome.getPassed()) {
      log.info("backup {} of addon {} verified: {}", completed.getBackupId(), completed.getAddonId(), outcome.getSummary());
    } else {
      log.warn("backup {} of addon {} did not pass its restore test: {}", completed.getBackupId(), completed.getAddonId(),
          outcome.getSummary());
    }
  }

  /**
   * The test's outcome; null when there is nothing to report (the archive is gone). An archive that
   * cannot be read is read once more before the backup fails for it: a store's network can fail once.
   */
  private BackupVerified test(BackupCompleted completed, int attempt) throws IOException {
    long start = System.nanoTime();
    // how long the test waited in the queue: a verifier that does not keep up shows here first
    log.info("backup {}: restore test attempt {} starts {} ms after the backup completed", completed.getBackupId(), attempt,
        Duration.between(completed.getCompletedAt(), clock.instant()).toMillis());
    RestoreEngine engine = engineFor(completed);
    Files.createDirectories(worker.workDirectory());
    Path scratch = Files.createTempDirectory(worker.workDirectory(), "verify-" + completed.getBackupId() + "-");
    try {
      String server = scratchServer(() -> engine.serverName(scratch));
      // a test taken over leaves its database behind, under its own attempt's name: drop those first
      for (int earlier = 1; earlier < attempt; earlier++) {
        String leftover = scratchDatabase(completed.getBackupId(), earlier);
        scratchServer(() -> {
          engine.drop(leftover, scratch);
          return null;
        });
      }
      for (int read = 1; ; read++) {
        try {
          return testOnce(completed, engine, server, scratchDatabase(completed.getBackupId(), attempt), scratch);
        } catch (Unreadable e) {
          stopIfShuttingDown();
          if (read >= 2) {
            return outcome(completed, false, "the archive could not be read back: " + e.getMessage(), null, start);
          }
          log.warn("backup {}: its archive could not be read back, reading it once more: {}", completed.getBackupId(),
              e.getMessage());
        }
      }
    } finally {
      JobLifecycle.deleteTree(scratch);
    }
  }

  private BackupVerified testOnce(BackupCompleted completed, RestoreEngine engine, String server, String database,
      Path scratch) throws IOException, Unreadable {
    long start = System.nanoTime();
    ArchiveReader.Unpacked archive;
    try {
      archive = archives.unpack(completed.getAddonId(), completed.getArchiveKey(), completed.getArchiveName());
    } catch (ArchiveStore.NoSuchArchiveException e) {
      // pruned before its turn came (a short-lived manual backup, a replay): nothing left to prove, nothing to report
      BackupVerified none = outcome(completed, false, "the archive was pruned before its restore test", null, start);
      if (ledger.settle(completed.getBackupId(), worker.instanceName(), JobLedger.State.FAILED, EventCodec.get().encode(none))) {
        ledger.announced(completed.getBackupId());
      }
      log.info("backup {}: its archive was pruned before its restore test", completed.getBackupId());
      return null;
    }
    try (archive) {
      RestoreEngine.Restored restored;
      try {
        InputStream dump = archive.dump();
        if (dump == null) {
          return outcome(completed, false, "the archive holds no dump", null, start);
        }
        restored = engine.restore(database, dump, scratch);
      } catch (RestoreEngine.ScratchServerException e) {
        throw new ScratchServerUnavailable(e.getMessage());
      } catch (DumpFailedException e) {
        stopIfShuttingDown();
        if (engine.failures().isTransient(e.getMessage())) {
          throw new ScratchServerUnavailable(e.getMessage());
        }
        return outcome(completed, false, "the restore into " + server + " failed: " + withoutData(e.getMessage()), null, start);
      } catch (IOException e) {
        throw new Unreadable(e.getMessage());
      }
      String mismatch;
      try {
        mismatch = archive.check(completed.getSizeBytes(), completed.getSha256());
      } catch (IOException e) {
        throw new Unreadable(e.getMessage());
      }
      if (mismatch != null) {
        return outcome(completed, false, mismatch, null, start);
      }
      String shortfall = RestoredTables.shortfall(restored, completed.getExpectedTables());
      if (shortfall != null) {
        return outcome(completed, false, shortfall, restored, start);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      return outcome(completed, true, RestoredTables.summary(restored, completed.getExpectedTables(), server, seconds),
          restored, start);
    }
  }

  /** The engine of the backup's addon, waiting a little for an addon this worker has not heard of yet. */
  private RestoreEngine engineFor(BackupCompleted completed) throws IOException {
    long deadline = System.nanoTime() + worker.addonWait().toNanos();
    while (true) {
      var addon = addons.find(completed.getAddonId());
      if (addon.isPresent()) {
        RestoreEngine engine = engines.get(addon.get().engine());
        if (engine == null) {
          throw new IllegalStateException("backup " + completed.getBackupId() + ": this worker cannot restore "
              + addon.get().engine() + " dumps");
        }
        return engine;
      }
      if (System.nanoTime() > deadline) {
        // not the backup's fault: the completion is retried, by when the catalog has caught up
        throw new IllegalStateException("backup " + completed.getBackupId() + ": addon " + completed.getAddonId()
            + " is not in this worker's catalog yet");
      }
      JobLifecycle.sleep(Duration.ofMillis(200));
    }
  }

  /** A step on the scratch server; its failure is the verifier's, never the backup's. */
  private interface ScratchStep<T> {
    T run() throws RestoreEngine.ScratchServerException, IOException;
  }

  private static <T> T scratchServer(ScratchStep<T> step) throws IOException {
    try {
      return step.run();
    } catch (RestoreEngine.ScratchServerException e) {
      throw new ScratchServerUnavailable(e.getMessage());
    }
  }

  /**
   * The client's reason without what may quote the backup's rows ({@code CONTEXT: COPY … line 1: "…"},
   * {@code DETAIL: Key (…)=(…)}, MySQL's {@code near '…'}): the reason is shown to the customer and kept
   * on a topic forever.
   */
  static String withoutData(String reason) {
    int cut = reason.length();
    for (String marker : List.of(" CONTEXT:", " DETAIL:", " Command was:", " LINE ", " near '")) {
      int at = reason.indexOf(marker);
      if (at >= 0) {
        cut = Math.min(cut, at);
      }
    }
    return cut == reason.length() ? reason : reason.substring(0, cut) + " (details left out: they may quote the backup's data)";
  }

  /**
   * A restore stopped because this worker is shutting down says nothing about the backup: nothing is
   * recorded, and the next verifier tests it again once this one's lease has run out.
   */
  private static void stopIfShuttingDown() throws InterruptedIOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedIOException("restore test interrupted: the worker is shutting down");
    }
  }

  private BackupVerified outcome(BackupCompleted completed, boolean passed, String summary, RestoreEngine.Restored restored,
      long startNanos) {
    return new BackupVerified(completed.getBackupId(), completed.getAddonId(), completed.getAppName(), clock.instant(), passed,
        summary, restored == null ? 0 : restored.tables(), restored == null ? 0 : restored.rows(),
        (System.nanoTime() - startNanos) / 1_000_000, worker.instanceName());
  }

  /**
   * The scratch database (and, on PostgreSQL, role) of one attempt at a backup's test. Each attempt has
   * its own, so that a verifier that lost its lease while still restoring never shares one with the
   * verifier that took over, which drops the earlier attempts' leftovers before it starts.
   */
  String scratchDatabase(String backupId, int attempt) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(backupId.getBytes(StandardCharsets.UTF_8));
      return verifier.databasePrefix() + HexFormat.of().formatHex(hash, 0, 8) + "_" + attempt;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The archive could not be read back (decrypted, decompressed, unpacked). */
  private static final class Unreadable extends Exception {
    Unreadable(String message) {
      super(message);
    }
  }

  /** The scratch server cannot be reached: the verifier's trouble, not the backup's. */
  static final class ScratchServerUnavailable extends UncheckedIOException {
    ScratchServerUnavailable(String reason) {
      super("the scratch server for restore tests is unavailable: " + reason, new IOException(reason));
    }
  }

}
