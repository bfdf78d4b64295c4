package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.HeadLastFile;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupTimings;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.CheckedDump;
import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.job.KindWork;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Turns one BackupRequested into a stored archive and exactly one BackupCompleted or BackupFailed.
 * Every failure the customer can act on (refused connection, wrong password, unknown database,
 * timeout) ends as BackupFailed with the reason, and so does an archive that cannot be packed or
 * stored; only Kafka and MongoDB errors escape, and the {@link JobRunner} gives the job back.
 *
 * <p>The consumer only {@link #record records} a request in the {@link JobLedger}; a
 * {@link JobRunner} {@link #execute executes} the job on a thread of its own. A transient dump
 * failure reschedules the job after its backoff, and a host without a free dump slot reschedules it
 * shortly: neither holds a thread, so other addons' backups run meanwhile.
 *
 * <p>Crashes: the job is held with a lease its heartbeat renews; a worker killed mid-dump has its
 * job taken over by the next runner to see the lease run out. Archives are stored under a name no
 * listing shows until the outcome event is published, and the outcome is recorded before it is
 * published.
 */
@Component
public class BackupJob {

  private static final Logger log = LoggerFactory.getLogger(BackupJob.class);

  private final JobLedger ledger;
  private final ArchiveStore store;
  private final Map<Engine, DumpEngine> engines;
  private final WorkerProperties properties;
  private final Clock clock;
  private final ArchiveCipher cipher;
  private final boolean encrypt;
  private final AddonJobs jobs;
  private final BackupMetrics metrics;
  /** The jobs of the kinds that are not dumps (PITR base backups, restores), by kind. */
  private final Map<BackupKind, KindWork> otherKinds;

  /** A job whose metrics are not exported (tests, tools). */
  public BackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, DumpEngine> engines, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock,
      ArchiveCipher cipher, BackstopProperties backstop) {
    this(addons, ledger, slots, store, publisher, sealer, engines, probes, properties, clock, cipher, backstop,
        BackupMetrics.unexported(), List.of());
  }

  /** A job whose metrics are not exported, running the other kinds given. */
  public BackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, DumpEngine> engines, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock,
      ArchiveCipher cipher, BackstopProperties backstop, List<KindWork> otherKinds) {
    this(addons, ledger, slots, store, publisher, sealer, engines, probes, properties, clock, cipher, backstop,
        BackupMetrics.unexported(), otherKinds);
  }

  /** A job that runs dumps only. */
  public BackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, DumpEngine> engines, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock,
      ArchiveCipher cipher, BackstopProperties backstop, BackupMetrics metrics) {
    this(addons, ledger, slots, store, publisher, sealer, engines, probes, properties, clock, cipher, backstop, metrics, List.of());
  }

  @Autowired
  public BackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, DumpEngine> engines, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock,
      ArchiveCipher cipher, BackstopProperties backstop, BackupMetrics metrics, List<KindWork> otherKinds) {
    this.metrics = metrics;
    this.otherKinds = otherKinds.stream().collect(java.util.stream.Collectors.toUnmodifiableMap(KindWork::kind, w -> w));
    this.cipher = cipher;
    this.encrypt = backstop.archive().encrypt();
    this.ledger = ledger;
    this.store = store;
    this.engines = engines;
    this.properties = properties;
    this.clock = clock;
    this.jobs = new AddonJobs("backup", "", addons, ledger, slots, sealer, probes, publisher, properties, clock,
        new AddonJobs.Watcher() {
          @Override
          public void started(BackupRequested request, Addon addon, Instant startedAt) {
            metrics.started(addon, request.getKind(), Duration.between(request.getRequestedAt(), startedAt));
          }

          @Override
          public void failed(BackupRequested request) {
            metrics.failed(addons.find(request.getAddonId()).orElse(null), request.getKind());
          }
        });
  }

  @PreDestroy
  void stopHeartbeats() {
    jobs.close();
  }

  /**
   * Records the request as a job to run, and returns: the consumer never waits for a dump, so one
   * slow database holds back no other request. True if the job is new; a redelivered or replayed
   * request of a job that is queued, running or finished changes nothing.
   */
  public boolean record(BackupRequested request) {
    boolean dump = request.getKind() == BackupKind.SCHEDULED || request.getKind() == BackupKind.MANUAL;
    if (!dump && !otherKinds.containsKey(request.getKind())) {
      // a kind this worker does not run (a newer one read as UNKNOWN): left to whoever runs it
      log.debug("backup {} is a {} request: not run by this worker", request.getBackupId(), request.getKind());
      return false;
    }
    boolean recorded = ledger.record(request.getBackupId(), request.getAddonId(), EventCodec.get().encode(request), clock.instant());
    if (!recorded) {
      // a replay reads every request again: one line each would be millions
      log.debug("backup {} is already known: request dropped", request.getBackupId());
    }
    return recorded;
  }

  /**
   * Runs one job a {@link JobRunner} claimed: publishes the outcome an earlier worker recorded but did
   * not publish, or takes a dump slot and dumps once. Waiting (a transient failure's backoff, a host
   * with no free slot) reschedules the job instead of holding this thread.
   */
  public void execute(JobLedger.Job claimed) throws IOException {
    BackupRequested request = (BackupRequested) EventCodec.get().decode(claimed.request());
    KindWork other = otherKinds.get(request.getKind());
    if (other != null) {
      other.run(claimed);
      return;
    }
    jobs.run(request, claimed, addon -> {
      if (!addon.hasBackups()) {
        return "Sandbox plans have no backups";
      }
      if (addon.removed() && request.getKind() != BackupKind.MANUAL) {
        return "the addon was removed";
      }
      return engines.containsKey(addon.engine()) ? null : addon.engine() + " databases cannot be dumped by this worker";
    }, (job, go, start, scratch) -> dump(request, go, job, start, scratch));
  }

  /** Dumps into an archive packed in the scratch folder, stores it, and settles the job. */
  private void dump(BackupRequested request, TargetPreparation.Go go, RunningJob job, RunningJob.Start start, Path scratch)
      throws IOException {
    Addon addon = go.addon();
    DumpPlanner.Choice choice = go.choice();
    DumpEngine engine = engines.get(addon.engine());
    Instant startedAt = start.at();
    int attempt = start.attempt();
    var format = properties.archiveFormat();
    String archiveName = StreamingArchive.archiveName(startedAt, addon.database(), format);
    String key = addon.id() + "/" + request.getBackupId() + "/" + archiveName + (encrypt ? ArchiveCipher.SUFFIX : "");
    StreamingArchive.Packed packed;
    // durations for the log line and the event's timings, where operators see where a slow backup's time went
    long dumpNanos = 0;
    long assemblyNanos = 0;
    long storeNanos;
    long firstByteNanos = 0;
    Instant dumpStartedAt = null;
    Instant dumpEndedAt = null;
    Instant storedAt;
    Integer expectedTables = null;
    try {
      try (StreamingArchive archive = StreamingArchive.start(format, properties.compressionLevel(),
          properties.compressionThreads(), engine.dumpFileName(addon.database()), startedAt, scratch.resolve("archive"),
          encrypt ? (file, head) -> cipher.headLast(addon.id(), key, file, head) : HeadLastFile::plain)) {
        job.dumping(archive, attempt);
        try {
          long dumpStart = System.nanoTime();
          dumpStartedAt = clock.instant();
          expectedTables = CheckedDump.dump(engine, go.target(), archive.dump(), scratch);
          dumpNanos = System.nanoTime() - dumpStart;
          dumpEndedAt = clock.instant();
          firstByteNanos = archive.firstByteNanos() == 0 ? -1 : archive.firstByteNanos() - dumpStart;
          // size and SHA-256 are those of the plaintext archive: what customers download and check
          packed = archive.finish();
          assemblyNanos = System.nanoTime() - dumpStart - dumpNanos;
        } catch (DumpFailedException e) {
          job.attemptFailed(e, attempt, engine.failures().isTransient(e.getMessage()));
          return;
        }
      }
      job.dumping(null, 0);
      if (job.lost()) {
        return;
      }
      long storeStart = System.nanoTime();
      store.putTaking(key, packed.file());
      storeNanos = System.nanoTime() - storeStart;
      storedAt = clock.instant();
    } catch (IOException e) {
      job.storeFailed(e, "the archive");
      return;
    }
    Instant completedAt = clock.instant();
    // the first byte is timed where it is written, by the monotonic clock: placed between the dump's start and end
    Instant firstByteAt = firstByteNanos < 0 ? null
        : Collections.min(List.of(dumpStartedAt.plusNanos(firstByteNanos), dumpEndedAt));
    var timings = new BackupTimings(job.claimedAt(), dumpStartedAt, firstByteAt, dumpEndedAt, storedAt, completedAt, null);
    boolean settled = job.completed(new BackupCompleted(request.getBackupId(), addon.id(),
        addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, completedAt, choice.label(), choice.why(),
        key, archiveName, packed.size(), packed.sha256(), expectedTables, null, null, timings));
    if (settled) {
      metrics.completed(addon, request.getKind(), Duration.ofNanos(dumpNanos + assemblyNanos), Duration.ofNanos(storeNanos),
          packed.size());
    }
    log.info("backup {} of addon {} done: {} ({} bytes from a {} byte dump, sha256 {}; {})",
        request.getBackupId(), addon.id(), archiveName, packed.size(), packed.dumpSize(), packed.sha256(),
        PhaseBreakdown.describe(request.getRequestedAt(), timings, assemblyNanos));
  }
}
