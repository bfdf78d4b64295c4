package dev.backstop.worker.job;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.backup.BackupJob;
import dev.backstop.worker.catalog.JobLedger;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every leased job does around its own work, written once for dumps ({@link BackupJob}), restore
 * tests ({@code RestoreVerification}) and the jobs PITR adds: the {@link JobRunner} claims a job and
 * gives it back when its work throws (infrastructure trouble, a worker stopping); the work uses this to
 * <ol>
 *   <li>publish an outcome recorded by a worker that died before publishing it ({@link #publishRecordedOutcome}),
 *       instead of running again;</li>
 *   <li>keep its lease while it runs ({@link #heartbeat}, {@link #renew});</li>
 *   <li>settle exactly once: record the outcome in the ledger, and only then publish it
 *       ({@link #settle}); an outcome of a job another worker took over is dropped.</li>
 * </ol>
 */
public final class JobLifecycle implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(JobLifecycle.class);

  private final String what;
  private final JobLedger ledger;
  private final EventPublisher publisher;
  private final String owner;
  private final Duration lease;
  private final Duration heartbeatInterval;
  private final Clock clock;
  private final ScheduledExecutorService heartbeats;

  /**
   * @param what names the jobs in log lines and the heartbeat thread ("backup", "restore test")
   * @param owner this worker's name in the ledger's leases
   */
  public JobLifecycle(String what, JobLedger ledger, EventPublisher publisher, String owner, Duration lease,
      Duration heartbeatInterval, Clock clock) {
    this.what = what;
    this.ledger = ledger;
    this.publisher = publisher;
    this.owner = owner;
    this.lease = lease;
    this.heartbeatInterval = heartbeatInterval;
    this.clock = clock;
    this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, what.replace(' ', '-') + "-heartbeats");
      thread.setDaemon(true);
      return thread;
    });
  }

  /** What the jobs are called in log lines ("backup", "base backup"). */
  public String what() {
    return what;
  }

  public JobLedger ledger() {
    return ledger;
  }

  public String owner() {
    return owner;
  }

  /**
   * Publishes the outcome the job's previous worker recorded but did not publish (it died in between),
   * unchanged; true if there was one, and the job is then over: it must not run again.
   *
   * @param eventKey the key of the outcome event on {@code backstop.backup-events} (the addon id)
   */
  public boolean publishRecordedOutcome(JobLedger.Job claimed, String eventKey) {
    if (claimed.unannouncedOutcome() == null) {
      return false;
    }
    publisher.publish(Topics.BACKUP_EVENTS, eventKey, EventCodec.get().decode(claimed.unannouncedOutcome()));
    ledger.announced(claimed.id());
    log.info("{} {}: published the outcome its previous worker recorded", what, claimed.id());
    return true;
  }

  /** A running heartbeat; closing it stops the beats (never throws). */
  public interface Heartbeat extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Runs {@code beat} every {@code heartbeat-interval} on the heartbeat thread until the returned
   * handle is closed. The beat renews the lease itself ({@link #renew}), with whatever else it reports.
   */
  public Heartbeat heartbeat(Runnable beat) {
    long every = heartbeatInterval.toMillis();
    ScheduledFuture<?> beats = heartbeats.scheduleAtFixedRate(beat, every, every, TimeUnit.MILLISECONDS);
    return () -> beats.cancel(false);
  }

  /** The heartbeat that only renews the lease. */
  public Heartbeat leaseHeartbeat(String jobId) {
    return heartbeat(() -> {
      try {
        if (!renew(jobId, leaseEnd())) {
          log.warn("{} {}: another worker took the job over", what, jobId);
        }
      } catch (RuntimeException e) {
        log.warn("{} {}: heartbeat failed, retried at the next one: {}", what, jobId, e.toString());
      }
    });
  }

  /** When a lease renewed now runs out. */
  public Instant leaseEnd() {
    return clock.instant().plus(lease);
  }

  /** Renews this worker's lease on the job until {@code until}; false when another worker has taken it over. */
  public boolean renew(String jobId, Instant until) {
    return ledger.renew(jobId, owner, until);
  }

  /**
   * Records the job's outcome, then publishes it: a worker killed in between leaves it for the next
   * one to publish ({@link #publishRecordedOutcome}), so each job has exactly one. False, and nothing
   * published, when another worker has taken the job over.
   */
  public boolean settle(String jobId, String eventKey, JobLedger.State state, SpecificRecord outcome) {
    if (!ledger.settle(jobId, owner, state, EventCodec.get().encode(outcome))) {
      log.warn("{} {}: another worker took the job over; this worker's outcome is dropped", what, jobId);
      return false;
    }
    publisher.publish(Topics.BACKUP_EVENTS, eventKey, outcome);
    ledger.announced(jobId);
    return true;
  }

  /**
   * The wait before the attempt after {@code failures} failed ones: {@code first}, doubling after each
   * further failure, never more than {@code max}.
   */
  public static Duration backoff(Duration first, int failures, Duration max) {
    Duration wait = first.multipliedBy(1L << Math.min(Math.max(failures - 1, 0), 20));
    return wait.compareTo(max) > 0 ? max : wait;
  }

  /** Stops the heartbeats (the worker is shutting down). */
  @Override
  public void close() {
    heartbeats.shutdownNow();
  }

  /** Waits; a worker stopping ends the wait with {@link InterruptedIOException}. */
  public static void sleep(Duration wait) throws IOException {
    try {
      Thread.sleep(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting");
    }
  }

  /** Removes a job's scratch folder; a failure is logged, never replaces the job's outcome. */
  public static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not clean {}: {}", root, e.getMessage());
    }
  }
}
