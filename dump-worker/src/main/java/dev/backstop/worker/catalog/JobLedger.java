package dev.backstop.worker.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.exists;
import static com.mongodb.client.model.Filters.in;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.lte;
import static com.mongodb.client.model.Filters.ne;
import static com.mongodb.client.model.Filters.nin;
import static com.mongodb.client.model.Filters.or;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.worker.job.JobTracing;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bson.Document;
import org.bson.codecs.pojo.annotations.BsonId;
import org.bson.conversions.Bson;
import org.bson.types.Binary;
import org.springframework.stereotype.Component;

/**
 * One record per backup id: the workers' guard against running a job twice, and against losing one.
 *
 * <p>A worker takes a job with a short lease and renews it while the dump runs (its heartbeat). Once
 * the lease has run out (the worker was killed, its machine lost), the next worker to look takes the
 * job over and dumps again.
 *
 * <p>The outcome event is written here before it is published (an outbox of one): a worker that dies
 * between the two leaves it unannounced, and whoever takes the job over publishes that same event
 * instead of dumping a second time.
 *
 * <p>It is also the queue of work: a request is {@link #record recorded} here (pending, with the
 * request itself) by the consumer that reads it, and a {@code JobRunner} {@link #claimNext claims}
 * runnable jobs: pending ones whose {@code notBefore} has come, and those whose worker stopped
 * heartbeating. A job that must wait (a transient failure's backoff, a busy host) is
 * {@link #reschedule rescheduled}, which gives its lease back, rather than waited for on a thread.
 * Every query here works on MongoDB and on the in-process store alike: conditional single-document
 * updates, no transactions or change streams.
 *
 * <p>A claim looks only at the jobs that are not over, listed by id in a collection of their own
 * ({@code <collection>-queue}), never at the whole history: the in-process store has no secondary
 * index, and a claim that scanned every job ever recorded made a rebuild from the topics quadratic
 * (and every idle poll cost a scan of the history). A job's entry is written before the job, and
 * removed only once the job is over (settled and announced), which never changes again: an entry
 * whose job is over (a worker died between the two writes) is only skipped, and dropped by the next
 * {@link #JobLedger start}, which also lists the jobs recorded by a worker that did not keep a queue.
 */
@Component
public class JobLedger {

  /** The states a job goes through; a finished job is never dumped again. */
  public enum State { PENDING, RUNNING, DONE, FAILED }

  /**
   * A job {@link #claimNext} took for a worker.
   *
   * @param key what the job is fair about (the addon): a runner prefers keys it is not already running
   * @param request the recorded request (an encoded event)
   * @param attempt how many times the job was claimed, this claim included (names what one claim leaves behind)
   * @param failures transient failures recorded so far by {@link #reschedule}
   * @param takenOver its previous worker stopped heartbeating mid-job
   * @param startedAt when an earlier claim started the job, or null
   * @param recordedAt when the job was recorded
   * @param unannouncedOutcome not null: the job ended but its worker died before publishing this (encoded)
   *     outcome, which the claimer publishes instead of running the job again
   * @param trace the trace the job was recorded in ({@link JobTracing#current}), empty if none
   */
  public record Job(String id, String key, byte[] request, int attempt, int failures, boolean takenOver,
      Instant startedAt, Instant recordedAt, byte[] unannouncedOutcome, Map<String, String> trace) {}

  /**
   * A job as stored (collection {@code jobs} or {@code verifications}), read through service-kit's
   * record codec. Fields a job gets later in its life (or that a worker of an earlier version did not
   * write) are null until then.
   *
   * @param notBefore when a pending job becomes runnable
   * @param attempts how many times it was claimed
   * @param outcome the encoded outcome event, once settled
   * @param announced whether the outcome is published (absent on jobs settled before the outbox: published)
   * @param abandoned given up after its last attempt, until its request comes again
   * @param trace the headers propagating the trace the job was recorded in, if it was in one
   */
  public record StoredJob(@BsonId String id, State state, String key, byte[] request, Instant recordedAt, Instant notBefore,
      Integer attempts, Integer failures, Instant leaseUntil, String owner, Instant startedAt, byte[] outcome,
      Boolean announced, Boolean abandoned, String lastFailure, Map<String, String> trace) {}

  /** The {@code notBefore} of a job given up: later than any claim. */
  private static final Date NEVER = Date.from(Instant.parse("9999-12-31T00:00:00Z"));

  /** Jobs over: settled, and their outcome published (jobs settled before the outbox have no {@code announced}). */
  private static final Bson OVER = and(in("state", State.DONE.name(), State.FAILED.name()), ne("announced", false));

  /** Ids per claim query: a few hundred kilobytes, far below MongoDB's 16 MB command limit. */
  private static final int IDS_PER_QUERY = 5_000;

  private final MongoCollection<Document> jobs;
  private final MongoCollection<StoredJob> stored;
  /** One document ({@code _id} alone) per job that is not over: all a claim reads. */
  private final MongoCollection<Document> queue;

  private final JobTracing tracing;

  /** The dump jobs' ledger (collection {@code jobs}), each job in the trace it was recorded in. */
  @org.springframework.beans.factory.annotation.Autowired
  public JobLedger(MongoDatabase database, JobTracing tracing) {
    this(database, "jobs", tracing);
  }

  /** The dump jobs' ledger, untraced. */
  public JobLedger(MongoDatabase database) {
    this(database, "jobs", JobTracing.NONE);
  }

  /** A ledger of other jobs run once per backup, such as restore tests, in a collection of their own, untraced. */
  public JobLedger(MongoDatabase database, String collection) {
    this(database, collection, JobTracing.NONE);
  }

  /** A ledger of jobs in {@code collection}, each recorded in the trace its recording thread is in. */
  public JobLedger(MongoDatabase database, String collection, JobTracing tracing) {
    this.tracing = tracing;
    this.jobs = database.getCollection(collection);
    this.stored = StoredRecords.collection(database, collection, StoredJob.class);
    this.queue = database.getCollection(collection + "-queue");
    jobs.createIndex(Indexes.ascending("state", "notBefore"));
    sweepQueue();
  }

  /** How the jobs' traces are recorded here, and made current again where they run. */
  public JobTracing tracing() {
    return tracing;
  }

  /**
   * Lists every job that is not over in the queue, and drops the entries of jobs that are: one pass
   * over the history per start. It repairs what a worker that died between two writes left, and
   * queues the jobs recorded by workers of the version before the queue.
   */
  private void sweepQueue() {
    List<String> live = new ArrayList<>();
    jobs.find(or(in("state", State.PENDING.name(), State.RUNNING.name()), eq("announced", false)))
        .projection(new Document("_id", 1)).forEach(job -> live.add(job.getString("_id")));
    live.forEach(this::enqueue);
    List<String> listed = new ArrayList<>();
    queue.find().forEach(entry -> listed.add(entry.getString("_id")));
    for (List<String> ids : chunks(listed)) {
      List<String> over = new ArrayList<>();
      jobs.find(ById.filter(new Document("$in", ids), OVER)).projection(new Document("_id", 1))
          .forEach(job -> over.add(job.getString("_id")));
      if (!over.isEmpty()) {
        queue.deleteMany(in("_id", over));
      }
    }
  }

  private void enqueue(String id) {
    queue.replaceOne(new Document("_id", id), new Document("_id", id), new ReplaceOptions().upsert(true));
  }

  /** Drops the job's queue entry if the job is over; an entry of a job that is not must stay. */
  private void dequeueIfOver(String id) {
    if (jobs.find(ById.filter(id, OVER)).projection(new Document("_id", 1)).first() != null) {
      queue.deleteOne(new Document("_id", id));
    }
  }

  /** The order of {@code sort(ascending("notBefore"))}: a job without one (an earlier version's) first. */
  private static final java.util.Comparator<StoredJob> NOT_BEFORE = java.util.Comparator.comparing(StoredJob::notBefore,
      java.util.Comparator.nullsFirst(java.util.Comparator.naturalOrder()));

  private static List<List<String>> chunks(List<String> ids) {
    List<List<String>> chunks = new ArrayList<>();
    for (int from = 0; from < ids.size(); from += IDS_PER_QUERY) {
      chunks.add(ids.subList(from, Math.min(ids.size(), from + IDS_PER_QUERY)));
    }
    return chunks;
  }

  /**
   * Records a job to run, pending from {@code now}; true if it is new, or was {@link #abandon given up}
   * and is now pending again. Otherwise recording it again changes nothing, whatever state it is in:
   * a redelivered or replayed request of a job that ran, runs or waits is not run a second time. A
   * job taken before jobs were recorded with their request (a worker of the previous version) gets
   * its request, so that it can be taken over.
   */
  public boolean record(String id, String key, byte[] request, Instant now) {
    // queued before it exists: a job never waits unlisted, whenever this worker dies
    enqueue(id);
    try {
      Document job = new Document("_id", id)
          .append("state", State.PENDING.name())
          .append("key", key)
          .append("request", new Binary(request))
          .append("recordedAt", Date.from(now))
          .append("notBefore", Date.from(now))
          .append("attempts", 0)
          .append("failures", 0)
          .append("leaseUntil", new Date(0));
      Map<String, String> trace = tracing.current();
      if (!trace.isEmpty()) {
        job.append("trace", new Document(new java.util.LinkedHashMap<String, Object>(trace)));
      }
      jobs.insertOne(job);
      return true;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    // known already: a replayed request of a job over (the usual case in a rebuild) leaves no entry
    dequeueIfOver(id);
    stored.updateOne(ById.filter(id, exists("request", false)), Updates.combine(Updates.set("request", new Binary(request)),
        Updates.set("key", key), Updates.set("notBefore", Date.from(now))));
    // a job given up after its last attempt is tried afresh when its request comes again (a replay)
    return stored.updateOne(ById.filter(id, eq("state", State.PENDING.name()), eq("abandoned", true)), Updates.combine(
        Updates.set("abandoned", false), Updates.set("failures", 0), Updates.set("notBefore", Date.from(now))))
        .getModifiedCount() == 1;
  }

  /**
   * Whether any job besides {@code runningHere} is queued (pending, running elsewhere, or settled and not
   * yet announced). With none, no {@link #claimNext claim} can take anything, whatever the outcomes'
   * progress: a runner then need not read that progress, which costs broker requests each time.
   */
  public boolean anyQueuedBesides(Collection<String> runningHere) {
    return queue.find(nin("_id", runningHere)).first() != null;
  }

  /**
   * Takes the runnable job that has waited longest for {@code owner} until {@code leaseUntil}:
   * pending with {@code notBefore} come, or held by a worker whose lease ran out (then it is
   * {@link Job#takenOver} or, if that worker had recorded its outcome, {@link Job#unannouncedOutcome}).
   * Jobs of {@code busyKeys} come only when no other job is runnable, so that one addon's many jobs
   * do not fill every runner thread while others wait. Jobs of {@code runningHere} are never taken:
   * the caller runs them, though a late heartbeat (a long pause, a clock that jumped) let their lease
   * lapse.
   */
  public Optional<Job> claimNext(String owner, Instant now, Instant leaseUntil, Collection<String> busyKeys,
      Collection<String> runningHere) {
    return claimNext(owner, now, leaseUntil, busyKeys, runningHere, null);
  }

  /**
   * {@link #claimNext(String, Instant, Instant, Collection, Collection)}, taking pending jobs only if they
   * were recorded before {@code outcomesReadUpTo} (null: any): the instant up to which every outcome
   * published on the topic is {@link #settledElsewhere known here}. A request replayed into an empty
   * ledger then waits until its outcome, if it has one, has been read, and is never run a second time.
   */
  public Optional<Job> claimNext(String owner, Instant now, Instant leaseUntil, Collection<String> busyKeys,
      Collection<String> runningHere, Instant outcomesReadUpTo) {
    Date at = Date.from(now);
    Bson pendingReadable = outcomesReadUpTo == null ? eq("state", State.PENDING.name())
        : and(eq("state", State.PENDING.name()), or(lt("recordedAt", Date.from(outcomesReadUpTo)), exists("recordedAt", false)));
    Bson runnable = or(
        and(pendingReadable, lte("notBefore", at)),
        and(eq("state", State.RUNNING.name()), lt("leaseUntil", at)),
        and(in("state", State.DONE.name(), State.FAILED.name()), eq("announced", false), lt("leaseUntil", at)));
    List<Bson> preferences = new ArrayList<>();
    if (!busyKeys.isEmpty()) {
      preferences.add(nin("key", busyKeys));
    }
    preferences.add(null);
    for (Bson preference : preferences) {
      // several workers race for the same oldest job: whoever loses looks again
      for (int race = 0; race < 5; race++) {
        StoredJob seen = oldestQueued(runnable, preference, runningHere);
        if (seen == null) {
          break;
        }
        Optional<Job> taken = take(seen, owner, now, leaseUntil);
        if (taken.isPresent()) {
          return taken;
        }
      }
    }
    return Optional.empty();
  }

  /**
   * The queued job matching {@code runnable} (and {@code preference}, if not null) with the earliest
   * {@code notBefore}, or null. The ids come from the queue and the jobs are looked up by id, so both
   * stores answer from their {@code _id} index, however long the history.
   */
  private StoredJob oldestQueued(Bson runnable, Bson preference, Collection<String> runningHere) {
    List<String> ids = new ArrayList<>();
    queue.find().forEach(entry -> {
      String id = entry.getString("_id");
      if (!runningHere.contains(id)) {
        ids.add(id);
      }
    });
    StoredJob oldest = null;
    for (List<String> chunk : chunks(ids)) {
      Bson filter = preference == null ? ById.filter(new Document("$in", chunk), exists("request", true), runnable)
          : ById.filter(new Document("$in", chunk), exists("request", true), runnable, preference);
      StoredJob seen = stored.find(filter).sort(Sorts.ascending("notBefore")).limit(1).first();
      if (seen != null && (oldest == null || NOT_BEFORE.compare(seen, oldest) < 0)) {
        oldest = seen;
      }
    }
    return oldest;
  }

  private Optional<Job> take(StoredJob seen, String owner, Instant now, Instant leaseUntil) {
    State state = seen.state();
    Bson condition = state == State.PENDING
        ? ById.filter(seen.id(), eq("state", state.name()), lte("notBefore", Date.from(now)))
        : ById.filter(seen.id(), eq("state", state.name()), eq("owner", seen.owner()),
            lt("leaseUntil", Date.from(now)));
    Bson update = Updates.combine(Updates.set("state", state == State.PENDING ? State.RUNNING.name() : state.name()),
        Updates.set("owner", owner), Updates.set("leaseUntil", Date.from(leaseUntil)), Updates.inc("attempts", 1));
    StoredJob before = stored.findOneAndUpdate(condition, update);
    if (before == null) {
      return Optional.empty();
    }
    byte[] outcome = state == State.DONE || state == State.FAILED ? before.outcome() : null;
    // a job recorded by a worker of the previous version has no time of its own: the time it got its request
    Instant recordedAt = before.recordedAt() != null ? before.recordedAt() : before.notBefore();
    return Optional.of(new Job(before.id(), before.key(), before.request(),
        (before.attempts() == null ? 0 : before.attempts()) + 1, before.failures() == null ? 0 : before.failures(),
        state == State.RUNNING, before.startedAt(), recordedAt, outcome, before.trace() == null ? Map.of() : before.trace()));
  }

  /**
   * Puts a job {@code owner} holds back in the queue until {@code notBefore}, giving its lease back:
   * a transient failure's backoff or a busy host waits there, not on a thread. {@code failures} is
   * the count of transient failures so far; {@code reason} the last one, for operators. False if
   * another worker has taken the job over.
   */
  public boolean reschedule(String id, String owner, Instant notBefore, int failures, String reason) {
    return stored.updateOne(ById.filter(id, eq("owner", owner), eq("state", State.RUNNING.name())), Updates.combine(
        Updates.set("state", State.PENDING.name()), Updates.set("owner", null), Updates.set("leaseUntil", new Date(0)),
        Updates.set("notBefore", Date.from(notBefore)), Updates.set("failures", failures),
        Updates.set("lastFailure", reason))).getMatchedCount() == 1;
  }

  /**
   * Gives up a job {@code owner} holds without an outcome, after its last attempt: it stays pending,
   * never runnable, until {@link #record} sees its request again. False if another worker has taken
   * it over.
   */
  public boolean abandon(String id, String owner, int failures, String reason) {
    return stored.updateOne(ById.filter(id, eq("owner", owner), eq("state", State.RUNNING.name())), Updates.combine(
        Updates.set("state", State.PENDING.name()), Updates.set("owner", null), Updates.set("leaseUntil", new Date(0)),
        Updates.set("notBefore", NEVER), Updates.set("abandoned", true), Updates.set("failures", failures),
        Updates.set("lastFailure", reason))).getMatchedCount() == 1;
  }

  /** The job's state, or null if it was never recorded nor claimed. */
  public State state(String id) {
    StoredJob job = stored.find(eq("_id", id)).first();
    return job == null ? null : job.state();
  }

  /** True once the job has ended and its outcome is published: nothing is left to do for it. */
  public boolean over(String id) {
    StoredJob job = stored.find(eq("_id", id)).first();
    return job != null && job.state() != State.RUNNING && job.state() != State.PENDING
        && !Boolean.FALSE.equals(job.announced());
  }

  /** Records when the backup started, once: a worker taking the job over keeps the first time. */
  public void started(String backupId, String owner, Instant startedAt) {
    stored.updateOne(ById.filter(backupId, eq("owner", owner), exists("startedAt", false)),
        Updates.set("startedAt", Date.from(startedAt)));
  }

  /** Extends the lease of a job {@code owner} still holds; false if another worker has taken it over. */
  public boolean renew(String backupId, String owner, Instant leaseUntil) {
    return stored.updateOne(ById.filter(backupId, eq("owner", owner), eq("state", State.RUNNING.name())),
        Updates.set("leaseUntil", Date.from(leaseUntil))).getMatchedCount() == 1;
  }

  /**
   * Records how the job ended, with the encoded outcome event, if {@code owner} still holds it. False
   * means another worker took it over: this worker's outcome must not be published.
   */
  public boolean settle(String backupId, String owner, State state, byte[] outcome) {
    return stored.updateOne(ById.filter(backupId, eq("owner", owner), eq("state", State.RUNNING.name())),
        Updates.combine(Updates.set("state", state.name()), Updates.set("outcome", new Binary(outcome)),
            Updates.set("announced", false))).getMatchedCount() == 1;
  }

  /**
   * The outcome of job {@code id}, read back from the topic it was published on: the job is over,
   * whoever ran it. A job this ledger does not know yet (its request not read yet, or the ledger
   * rebuilt from the topics into an empty database) is recorded as over, so that its request is never
   * run; a job waiting (pending, or given up) is settled with it. A job running is left to the worker
   * that runs it, and a job already over keeps its own record.
   *
   * @param state {@link State#DONE} or {@link State#FAILED}
   * @param outcome the outcome event, encoded
   */
  public void settledElsewhere(String id, String key, State state, byte[] outcome, Instant now) {
    try {
      jobs.insertOne(new Document("_id", id)
          .append("state", state.name())
          .append("key", key)
          .append("recordedAt", Date.from(now))
          .append("notBefore", Date.from(now))
          .append("attempts", 0)
          .append("failures", 0)
          .append("leaseUntil", new Date(0))
          .append("outcome", new Binary(outcome))
          .append("announced", true));
      // its request, read at the same time on another topic, may have queued it a moment ago
      queue.deleteOne(new Document("_id", id));
      return;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    stored.updateOne(ById.filter(id, eq("state", State.PENDING.name())), Updates.combine(Updates.set("state", state.name()),
        Updates.set("outcome", new Binary(outcome)), Updates.set("announced", true), Updates.unset("abandoned"),
        Updates.set("leaseUntil", new Date(0))));
    dequeueIfOver(id);
  }

  /** The outcome event is on the topic: the job is over for every worker. */
  public void announced(String backupId) {
    stored.updateOne(ById.filter(backupId, ne("state", State.RUNNING.name())), Updates.set("announced", true));
    dequeueIfOver(backupId);
  }
}
