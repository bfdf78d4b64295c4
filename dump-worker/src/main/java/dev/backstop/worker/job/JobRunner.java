package dev.backstop.worker.job;

import dev.backstop.worker.catalog.JobLedger;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the jobs recorded in a {@link JobLedger} on a bounded set of threads of its own, so that the
 * consumer that records them never waits for one: a slow or unreachable database holds one runner
 * thread for one attempt, never a partition of requests.
 *
 * <p>Each thread claims the runnable job that has waited longest (a job of an addon it does not
 * already run first), runs it, and claims the next. A job that must wait — a transient failure's
 * backoff, a host with no free dump slot — is {@link JobLedger#reschedule rescheduled} by its work
 * and its thread moves on; a rescheduled job queues behind every job already runnable, so one
 * addon's retries cannot starve the others. Threads sleep until {@link #wake} (a request was just
 * recorded) or the poll interval, which finds the jobs that became runnable meanwhile: backoffs
 * that ended, and jobs whose worker died (their lease ran out), on any instance. Under a
 * {@link #gatedBy gate}, a wake sends a thread to the ledger only if the gate moved since the thread
 * last found nothing: a job just recorded waits for the outcomes read past it anyway, and a replay,
 * which records a job per request read before any outcome is, would otherwise claim once per request.
 * Until the gate has moved past the last wake, the thread reads it again every {@code GATE_RECHECK}
 * (cheap: the gate's answer is kept briefly), so a new request starts within moments, not a poll later.
 * While nothing is queued but the jobs running here, a thread does not read the gate at all: each
 * reading is a few requests to the broker, and an idle worker's threads polled it several times a second.
 *
 * <p>A job whose work throws is given back: at once if this runner is stopping (another worker, or
 * this one after its restart, takes it), after {@code errorBackoff} otherwise (the ledger or the
 * broker is unreachable: trying it again at once would spin).
 */
public final class JobRunner implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
  /** How soon a job held back only by the outcomes' progress is looked at again (that progress is read at most every 100 ms). */
  private static final Duration GATE_RECHECK = Duration.ofMillis(50);

  /**
   * One claimed job's work. It records how the job ends itself (settled, or rescheduled with its
   * backoff); an exception gives the job back to the queue.
   */
  @FunctionalInterface
  public interface Work {
    void run(JobLedger.Job job) throws IOException;
  }

  private final String name;
  private final JobLedger ledger;
  private final Work work;
  private final int threads;
  private final String owner;
  private final Duration lease;
  private final Duration pollInterval;
  private final Duration errorBackoff;
  private final Clock clock;
  private final List<String> busyKeys = Collections.synchronizedList(new ArrayList<>());
  private final List<String> runningIds = new ArrayList<>();
  private final List<Thread> running = new ArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition signalled = lock.newCondition();
  private long signals;
  private volatile boolean stopping;
  private volatile OutcomesRead outcomesRead;
  /** When a job was last recorded here, and how far the outcomes were known read at the last claim. */
  private final AtomicReference<Instant> wokenAt = new AtomicReference<>();
  private volatile Instant gateSeen;

  /**
   * @param name names the threads and log lines ("backup", "restore-test")
   * @param owner this worker's name in the ledger's leases
   */
  public JobRunner(String name, JobLedger ledger, Work work, int threads, String owner, Duration lease, Duration pollInterval,
      Duration errorBackoff, Clock clock) {
    this.name = name;
    this.ledger = ledger;
    this.work = work;
    this.threads = threads;
    this.owner = owner;
    this.lease = lease;
    this.pollInterval = pollInterval;
    this.errorBackoff = errorBackoff;
    this.clock = clock;
  }

  /**
   * Takes pending jobs only once their outcomes, if any, have been read back (see {@link OutcomesRead});
   * without it, any pending job is taken. Called before {@link #start}.
   */
  public JobRunner gatedBy(OutcomesRead read) {
    this.outcomesRead = read;
    return this;
  }

  /** Starts the runner's threads. */
  public JobRunner start() {
    lock.lock();
    try {
      for (int i = 0; i < threads; i++) {
        Thread thread = new Thread(this::loop, name + "-runner-" + (i + 1));
        thread.setDaemon(true);
        running.add(thread);
        thread.start();
      }
    } finally {
      lock.unlock();
    }
    return this;
  }

  /** A job was just recorded: an idle thread claims it now rather than at its next poll. */
  public void wake() {
    wokenAt.set(clock.instant());
    lock.lock();
    try {
      signals++;
      signalled.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Claims the runnable job that has waited longest and runs it on the calling thread; false if no
   * job is runnable. The runner's threads call it in a loop; tests call it to run jobs one by one.
   */
  public boolean runNext() {
    return runNext(gateReadUpTo());
  }

  /** The gate's answer, {@link Instant#EPOCH} while it knows nothing yet; null if this runner has no gate. */
  private Instant gateReadUpTo() {
    OutcomesRead gate = outcomesRead;
    if (gate == null) {
      return null;
    }
    Instant readUpTo = gate.readUpTo();
    // nothing known about the outcomes yet: only jobs already started (taken over, or settled and unannounced) may run
    gateSeen = readUpTo == null ? Instant.EPOCH : readUpTo;
    return gateSeen;
  }

  private boolean runNext(Instant readUpTo) {
    Instant now = clock.instant();
    Optional<JobLedger.Job> claimed;
    synchronized (busyKeys) {
      claimed = readUpTo == null ? ledger.claimNext(owner, now, now.plus(lease), List.copyOf(busyKeys), List.copyOf(runningIds))
          : ledger.claimNext(owner, now, now.plus(lease), List.copyOf(busyKeys), List.copyOf(runningIds), readUpTo);
      claimed.ifPresent(job -> {
        busyKeys.add(job.key());
        runningIds.add(job.id());
      });
    }
    if (claimed.isEmpty()) {
      return false;
    }
    JobLedger.Job job = claimed.get();
    // every line the job logs on this thread names its addon and backup (structured logs carry them as fields),
    // and the trace of the request that recorded it (traceId, spanId); what it publishes continues that trace
    try (var trace = ledger.tracing().open(name, job.trace());
        var addon = org.slf4j.MDC.putCloseable("addonId", job.key());
        var backup = org.slf4j.MDC.putCloseable("backupId", job.id())) {
      run(job);
    }
    return true;
  }

  private void run(JobLedger.Job job) {
    try {
      work.run(job);
    } catch (InterruptedIOException e) {
      giveBack(job, Duration.ZERO, e.getMessage());
    } catch (IOException | RuntimeException e) {
      if (stopping || Thread.currentThread().isInterrupted()) {
        giveBack(job, Duration.ZERO, e.toString());
      } else {
        log.warn("{} {} could not run, tried again in {}: {}", name, job.id(), errorBackoff, e.toString(), e);
        giveBack(job, errorBackoff, e.toString());
      }
    } finally {
      synchronized (busyKeys) {
        busyKeys.remove(job.key());
        runningIds.remove(job.id());
      }
    }
  }

  /** Puts the job back in the queue; best effort: if even that fails, its lease runs out and it is taken over. */
  private void giveBack(JobLedger.Job job, Duration after, String reason) {
    boolean interrupted = Thread.interrupted();
    try {
      ledger.reschedule(job.id(), owner, clock.instant().plus(after), job.failures(), "given back: " + reason);
    } catch (RuntimeException e) {
      log.warn("{} {} could not be given back; it is taken over once its lease runs out: {}", name, job.id(), e.toString());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void loop() {
    boolean claimsFailing = false;
    // a wake (a job just recorded) is worth a claim only if the gate let more pending jobs in since this
    // thread last found none: jobs recorded now wait for their outcomes to be read anyway. A replay records
    // a job per request read while the gate is shut; claiming on each of those wakes made it quadratic.
    boolean woken = false;
    Instant foundNoneAt = null;
    while (!stopping) {
      long seen;
      lock.lock();
      try {
        seen = signals;
      } finally {
        lock.unlock();
      }
      boolean ran;
      try {
        Instant lastWake = wokenAt.get();
        if (outcomesRead != null && !ledger.anyQueuedBesides(runningHere())) {
          // nothing that this thread could take: the gate (a few broker requests a reading, at every poll of
          // every thread) is not read, and the job last recorded is over or running here, so not held back
          ran = false;
          foundNoneAt = null;
          wokenAt.compareAndSet(lastWake, null);
        } else {
          Instant readUpTo = gateReadUpTo();
          if (woken && readUpTo != null && (readUpTo.equals(Instant.EPOCH) || readUpTo.equals(foundNoneAt))) {
            ran = false;
          } else {
            ran = runNext(readUpTo);
            foundNoneAt = ran ? null : readUpTo;
          }
        }
        if (claimsFailing) {
          log.info("{} runner claims jobs again", name);
          claimsFailing = false;
        }
      } catch (RuntimeException e) {
        // the ledger is unreachable: the next poll tries again; one warning per outage and thread
        if (!claimsFailing) {
          log.warn("{} runner could not claim a job, trying again every {}: {}", name, pollInterval, e.toString());
          claimsFailing = true;
        }
        ran = false;
      }
      if (Thread.interrupted() && stopping) {
        return;
      }
      woken = false;
      if (!ran) {
        lock.lock();
        try {
          if (signals == seen && !stopping) {
            // a job just recorded and held back by the gate is looked at again as soon as the gate may have moved
            boolean recheck = heldBackByGate();
            woken = signalled.await(recheck ? GATE_RECHECK.toNanos() : pollInterval.toNanos(), TimeUnit.NANOSECONDS) || recheck;
          } else {
            woken = true;
          }
        } catch (InterruptedException e) {
          if (stopping) {
            return;
          }
        } finally {
          lock.unlock();
        }
      }
    }
  }

  private List<String> runningHere() {
    synchronized (busyKeys) {
      return List.copyOf(runningIds);
    }
  }

  /**
   * Whether the last job recorded was recorded after the outcomes were last known read: it is held back
   * only until the next reading of the outcomes' progress, so the runner looks again then rather than at
   * its poll interval (which would add up to that interval to every request's start).
   */
  private boolean heldBackByGate() {
    Instant woken = wokenAt.get();
    Instant seen = gateSeen;
    return outcomesRead != null && woken != null && (seen == null || !seen.isAfter(woken));
  }

  /**
   * Stops claiming and interrupts the jobs running: each gives its job back (or, stopped where it
   * cannot, leaves it to be taken over when its lease runs out). Waits a little for them.
   */
  @Override
  public void close() {
    stopping = true;
    wake();
    List<Thread> threadsToStop;
    lock.lock();
    try {
      threadsToStop = List.copyOf(running);
    } finally {
      lock.unlock();
    }
    threadsToStop.forEach(Thread::interrupt);
    for (Thread thread : threadsToStop) {
      try {
        thread.join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
