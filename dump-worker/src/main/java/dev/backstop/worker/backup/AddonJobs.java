package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.job.JobLifecycle;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One kind of job that runs a tool against an addon's database (dumps, PITR base backups), as each
 * claimed job of it runs: an outcome an earlier worker recorded but did not publish is published and
 * nothing runs; else the target is prepared ({@link TargetPreparation}), the job marked started on the
 * node chosen, and the kind's work runs on it as a {@link RunningJob} (under the job's heartbeat, holding
 * the host slot taken) in a scratch folder of its own.
 */
public final class AddonJobs implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AddonJobs.class);

  /** The kind's own work once the job started, in its scratch folder (deleted after it). */
  @FunctionalInterface
  public interface Work {
    void run(RunningJob job, TargetPreparation.Go go, RunningJob.Start start, Path scratch) throws IOException;
  }

  /** What the kind counts (metrics); told only of what this worker did. */
  public interface Watcher {
    /** A start this worker announced (the first attempt's, or a taken-over job's). */
    default void started(BackupRequested request, Addon addon, Instant startedAt) {}

    /** A failure this worker settled. */
    default void failed(BackupRequested request) {}
  }

  private final JobLifecycle lifecycle;
  private final TargetPreparation preparation;
  private final HostSlots slots;
  private final EventPublisher publisher;
  private final WorkerProperties properties;
  private final Clock clock;
  private final String scratchPrefix;
  private final Watcher watcher;

  /**
   * @param what names the jobs in log lines ("backup", "base backup")
   * @param scratchPrefix begins a job's scratch folder's name, before the backup's id
   */
  public AddonJobs(String what, String scratchPrefix, AddonCatalog addons, JobLedger ledger, HostSlots slots,
      SecretSealer sealer, Map<Engine, ReplicaProbe> probes, EventPublisher publisher, WorkerProperties properties,
      Clock clock, Watcher watcher) {
    this.scratchPrefix = scratchPrefix;
    this.watcher = watcher;
    this.slots = slots;
    this.publisher = publisher;
    this.properties = properties;
    this.clock = clock;
    this.lifecycle = new JobLifecycle(what, ledger, publisher, properties.instanceName(), properties.leaseDuration(),
        properties.heartbeatInterval(), clock);
    this.preparation = new TargetPreparation(what, addons, ledger, slots, sealer, probes, properties, clock);
  }

  /**
   * Runs one claimed job; a refused addon or a failed preparation ends it failed on no node, a wait
   * (no free slot, an addon not registered yet) leaves it rescheduled.
   *
   * @param refusal why this kind does not run for the addon at all (null: it does)
   */
  public void run(BackupRequested request, JobLedger.Job claimed, Function<Addon, String> refusal, Work work)
      throws IOException {
    if (lifecycle.publishRecordedOutcome(claimed, request.getAddonId())) {
      return;
    }
    if (claimed.takenOver()) {
      log.warn("{} {}: its previous worker stopped heartbeating; taking the job over", lifecycle.what(),
          request.getBackupId());
    }
    RunningJob job = new RunningJob(request, lifecycle, slots, publisher, properties, clock, watcher::failed);
    job.run(() -> {
      var decision = preparation.prepare(request, claimed, job, refusal);
      if (decision instanceof TargetPreparation.Fail refused) {
        job.fail(refused.reason());
      } else if (decision instanceof TargetPreparation.Go go) {
        RunningJob.Start start = job.started(claimed, go.addon(), go.choice());
        if (start.announced()) {
          watcher.started(request, go.addon(), start.at());
        }
        job.inScratch(scratchPrefix + request.getBackupId() + "-", scratch -> work.run(job, go, start, scratch));
      }
    });
  }

  /** Stops the heartbeats of the jobs still running. */
  @Override
  public void close() {
    lifecycle.close();
  }
}
