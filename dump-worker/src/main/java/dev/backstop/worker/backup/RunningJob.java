package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.job.JobLifecycle;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job this worker holds, as its heartbeat sees it: each beat renews the job's lease and its host
 * slot's, and reports the work's progress when it moved. A renewal refused means another worker took
 * the job over (this one stalled past its lease): the work is aborted and its outcome never published.
 * Dumps and PITR base backups run as such a job ({@link AddonJobs}), and share through it their start,
 * scratch folder, failures and outcome.
 */
public final class RunningJob {

  private static final Logger log = LoggerFactory.getLogger(RunningJob.class);

  /** The tool's output on its way to the store, as the heartbeat reports and stops it. */
  public interface Work {
    /** Bytes the tool wrote so far. */
    long dumpedBytes();

    /** Bytes written to the stored file so far (compressed). */
    long storedBytes();

    /** Makes the next write fail with this reason, which stops the tool. */
    void abort(String reason);
  }

  private final BackupRequested request;
  private final JobLifecycle lifecycle;
  private final HostSlots slots;
  private final EventPublisher publisher;
  private final WorkerProperties properties;
  private final Clock clock;
  private final Consumer<BackupRequested> failed;
  private final Instant claimedAt;
  /** The node the job runs on, once started (null: none yet), named in its failure. */
  private volatile String node;
  private volatile Work work;
  private volatile String slot;
  private volatile int attempt = 1;
  private volatile boolean lost;
  private long reportedBytes = -1;

  /** @param failed told when this worker settled the job as failed */
  RunningJob(BackupRequested request, JobLifecycle lifecycle, HostSlots slots, EventPublisher publisher,
      WorkerProperties properties, Clock clock, Consumer<BackupRequested> failed) {
    this.request = request;
    this.lifecycle = lifecycle;
    this.slots = slots;
    this.publisher = publisher;
    this.properties = properties;
    this.clock = clock;
    this.failed = failed;
    this.claimedAt = clock.instant();
  }

  /**
   * When the job started (a retry keeps its first attempt's start), which attempt this is, and whether
   * this run announced the start (the first attempt, or a job taken over).
   */
  public record Start(Instant at, int attempt, boolean announced) {}

  /**
   * Marks the job started on the node chosen: recorded in the ledger, {@code BackupStarted} published
   * on the first attempt and when taken over, and logged.
   */
  Start started(JobLedger.Job claimed, Addon addon, DumpPlanner.Choice choice) {
    Instant startedAt = claimed.startedAt() != null ? claimed.startedAt() : clock.instant();
    int attempt = claimed.failures() + 1;
    lifecycle.ledger().started(request.getBackupId(), properties.instanceName(), startedAt);
    boolean announce = attempt == 1 || claimed.takenOver();
    if (announce) {
      // a retry after a transient failure continues the backup that started, under its first start time
      publisher.publish(Topics.BACKUP_EVENTS, addon.id(), new BackupStarted(request.getBackupId(), addon.id(),
          addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, choice.label(), choice.why(),
          properties.instanceName()));
    }
    node = choice.label();
    log.info("{} {} of addon {} started on {} ({}), attempt {}", lifecycle.what(), request.getBackupId(), addon.id(),
        choice.label(), choice.why(), attempt);
    return new Start(startedAt, attempt, announce);
  }

  /** The steps run in a scratch folder of the job's own, deleted after them. */
  @FunctionalInterface
  interface ScratchSteps {
    void run(Path scratch) throws IOException;
  }

  /**
   * Runs the steps in a scratch folder of their own under the work directory, deleted however they end.
   * A folder that cannot be made ends the job failed; a stopping worker gives it back (thrown).
   *
   * @param prefix begins the folder's name
   */
  void inScratch(String prefix, ScratchSteps steps) throws IOException {
    Path scratch;
    try {
      Files.createDirectories(properties.workDirectory());
      scratch = Files.createTempDirectory(properties.workDirectory(), prefix);
    } catch (IOException e) {
      if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) {
        throw e;
      }
      // a full disk (no block or inode for a folder): failed with the reason, as a full disk later on is; given back
      // to the runner instead, the job would be tried again after every error backoff and never end
      fail("the work directory cannot be used: " + e.getMessage());
      return;
    }
    try {
      steps.run(scratch);
    } finally {
      JobLifecycle.deleteTree(scratch);
    }
  }

  /**
   * Records the job done with this outcome, then publishes it.
   *
   * @return false when this worker no longer holds the job (the outcome is dropped)
   */
  public boolean completed(SpecificRecord outcome) {
    return lifecycle.settle(request.getBackupId(), request.getAddonId(), JobLedger.State.DONE, outcome);
  }

  /** Records the job failed with this reason, on the node it started on, then publishes that; logged either way. */
  public void fail(String reason) {
    if (lifecycle.settle(request.getBackupId(), request.getAddonId(), JobLedger.State.FAILED, new BackupFailed(
        request.getBackupId(), request.getAddonId(), request.getAppName(), request.getKind(), request.getRequestedAt(),
        clock.instant(), node, reason))) {
      failed.accept(request);
    }
    log.warn("{} {} of addon {} failed: {}", lifecycle.what(), request.getBackupId(), request.getAddonId(), reason);
  }

  /** When this worker claimed the job from its queue: the end of the backup's queued phase. */
  Instant claimedAt() {
    return claimedAt;
  }

  /** The work now running (null: none), whose progress the beats report. */
  public void working(Work work, int attempt) {
    this.attempt = attempt;
    this.work = work;
  }

  /** The dump now running into this archive (null: none). */
  void dumping(StreamingArchive archive, int attempt) {
    working(archive == null ? null : new Work() {
      @Override
      public long dumpedBytes() {
        return archive.dumpedBytes();
      }

      @Override
      public long storedBytes() {
        return archive.storedBytes();
      }

      @Override
      public void abort(String reason) {
        archive.abort(reason);
      }
    }, attempt);
  }

  void holdsSlot(String slot) {
    this.slot = slot;
  }

  String slot() {
    return slot;
  }

  /** Whether another worker took the job over: this one's work and outcome are then dropped. */
  public boolean lost() {
    return lost;
  }

  /**
   * Runs the job's steps under its heartbeat, and gives back the host slot it took however they end.
   */
  public void run(Steps steps) throws IOException {
    try (JobLifecycle.Heartbeat heartbeat = lifecycle.heartbeat(this::beat)) {
      steps.run();
    } finally {
      String held = slot;
      if (held != null) {
        slots.release(held, request.getBackupId());
      }
    }
  }

  /** A job's steps once it is held. */
  @FunctionalInterface
  public interface Steps {
    void run() throws IOException;
  }

  /**
   * What a failed attempt of the tool leads to: the job is given back when the worker is stopping
   * (thrown), dropped when another worker has it, rescheduled after its backoff when the failure is
   * transient and attempts are left (dump-attempts bounds the doubling: no cap of its own); else it ends
   * failed with the reason.
   */
  public void attemptFailed(DumpFailedException e, int attempt, boolean isTransient) throws InterruptedIOException {
    if (Thread.currentThread().isInterrupted()) {
      // the worker is stopping: says nothing about the database; the runner gives the job back
      throw new InterruptedIOException(lifecycle.what() + " " + request.getBackupId() + " stopped: " + e.getMessage());
    }
    if (lost) {
      log.warn("{} {}: stopped, another worker has the job", lifecycle.what(), request.getBackupId());
      return;
    }
    if (attempt >= properties.dumpAttempts() || !isTransient) {
      fail(attempt == 1 ? e.getMessage() : e.getMessage() + " (after " + attempt + " attempts)");
      return;
    }
    Duration wait = JobLifecycle.backoff(properties.retryBackoff(), attempt, ChronoUnit.FOREVER.getDuration());
    log.warn("{} {} of addon {}: attempt {} of {} failed, tried again in {}: {}", lifecycle.what(), request.getBackupId(),
        request.getAddonId(), attempt, properties.dumpAttempts(), wait, e.getMessage());
    // the backoff waits in the queue: this thread moves on to other addons' jobs
    lifecycle.ledger().reschedule(request.getBackupId(), properties.instanceName(), clock.instant().plus(wait), attempt,
        e.getMessage());
  }

  /**
   * What a failure to write or store the output leads to: the job is given back when the worker is
   * stopping (thrown; another worker runs it again), dropped when another worker has it; else (a full
   * disk, an unreachable store) it ends failed with the reason, never stuck running.
   *
   * @param what names the output in the reason ("the archive")
   */
  public void storeFailed(IOException e, String what) throws InterruptedIOException {
    if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) {
      throw e instanceof InterruptedIOException stopped ? stopped
          : new InterruptedIOException(lifecycle.what() + " " + request.getBackupId() + " stopped: " + e.getMessage());
    }
    if (lost) {
      log.warn("{} {}: stopped, another worker has the job", lifecycle.what(), request.getBackupId());
      return;
    }
    fail(what + " could not be stored: " + e.getMessage());
  }

  /** One heartbeat; runs on the heartbeat thread. Never throws: a failed beat is retried by the next. */
  void beat() {
    try {
      Instant until = lifecycle.leaseEnd();
      if (!lost && !lifecycle.renew(request.getBackupId(), until)) {
        lost = true;
        log.warn("{} {}: another worker took the job over; this one is abandoned", lifecycle.what(), request.getBackupId());
        Work current = work;
        if (current != null) {
          current.abort("the job was taken over by another worker");
        }
        return;
      }
      String held = slot;
      if (held != null) {
        slots.renew(held, request.getBackupId(), until);
      }
      Work current = work;
      if (current != null && current.dumpedBytes() != reportedBytes) {
        reportedBytes = current.dumpedBytes();
        publisher.publish(Topics.BACKUP_PROGRESS, request.getAddonId(), new BackupProgress(request.getBackupId(),
            request.getAddonId(), request.getAppName(), clock.instant(), reportedBytes, current.storedBytes(), attempt,
            lifecycle.owner(), null, null, null, null));
      }
    } catch (RuntimeException e) {
      log.warn("{} {}: heartbeat failed, retried at the next one: {}", lifecycle.what(), request.getBackupId(), e.toString());
    }
  }
}
