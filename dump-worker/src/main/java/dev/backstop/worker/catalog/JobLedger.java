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
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
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
   */
  public record Job(String id, String key, byte[] request, int attempt, int failures, boolean takenOver,
      Instant startedAt, Instant recordedAt, byte[] unannouncedOutcome) {}

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
   */
  public record StoredJob(@BsonId String id, State state, String key, byte[] request, Instant recordedAt, Instant notBefore,
      Integer attempts, Integer failures, Instant leaseUntil, String owner, Instant startedAt, byte[] outcome,
      Boolean announced, Boolean abandoned, String lastFailure) {}

  /** The {@code notBefore} of a job given up: later than any claim. */
  private static final Date NEVER = Date.from(Instant.parse("9999-12-31T00:00:00Z"));

  private final MongoCollection<Document> jobs;
  private final MongoCollection<StoredJob> stored;

  /** The dump jobs' ledger (collection {@code jobs}). */
  @org.springframework.beans.factory.annotation.Autowired
  public JobLedger(MongoDatabase database) {
    this(database, "jobs");
  }

  /** A ledger of other jobs run once per backup, such as restore tests, in a collection of their own. */
  public JobLedger(MongoDatabase database, String collection) {
    this.jobs = database.getCollection(collection);
    this.stored = StoredRecords.collection(database, collection, StoredJob.class);
    jobs.createIndex(Indexes.ascending("state", "notBefore"));
  }

  /**
   * Records a job to run, pending from {@code now}; true if it is new, or was {@link #abandon given up}
   * and is now pending again. Otherwise recording it again changes nothing, whatever state it is in:
   * a redelivered or replayed request of a job that ran, runs or waits is not run a second time. A
   * job taken before jobs were recorded with their request (a worker of the previous version) gets
   * its request, so that it can be taken over.
   */
  public boolean record(String id, String key, byte[] request, Instant now) {
    try {
      jobs.insertOne(new Document("_id", id)
          .append("state", State.PENDING.name())
          .append("key", key)
          .append("request", new Binary(request))
          .append("recordedAt", Date.from(now))
          .append("notBefore", Date.from(now))
          .append("attempts", 0)
          .append("failures", 0)
          .append("leaseUntil", new Date(0)));
      return true;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    stored.updateOne(ById.filter(id, exists("request", false)), Updates.combine(Updates.set("request", new Binary(request)),
        Updates.set("key", key), Updates.set("notBefore", Date.from(now))));
    // a job given up after its last attempt is tried afresh when its request comes again (a replay)
    return stored.updateOne(ById.filter(id, eq("state", State.PENDING.name()), eq("abandoned", true)), Updates.combine(
        Updates.set("abandoned", false), Updates.set("failures", 0), Updates.set("notBefore", Date.from(now))))
        .getModifiedCount() == 1;
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
    Bson runnable = and(exists("request", true), nin("_id", runningHere), or(
        and(pendingReadable, lte("notBefore", at)),
        and(eq("state", State.RUNNING.name()), lt("leaseUntil", at)),
        and(in("state", State.DONE.name(), State.FAILED.name()), eq("announced", false), lt("leaseUntil", at))));
    List<Bson> preferences = new ArrayList<>();
    if (!busyKeys.isEmpty()) {
      preferences.add(and(runnable, nin("key", busyKeys)));
    }
    preferences.add(runnable);
    for (Bson filter : preferences) {
      // several workers race for the same oldest job: whoever loses looks again
      for (int race = 0; race < 5; race++) {
        StoredJob seen = stored.find(filter).sort(Sorts.ascending("notBefore")).limit(1).first();
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
        state == State.RUNNING, before.startedAt(), recordedAt, outcome));
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
      return;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    stored.updateOne(ById.filter(id, eq("state", State.PENDING.name())), Updates.combine(Updates.set("state", state.name()),
        Updates.set("outcome", new Binary(outcome)), Updates.set("announced", true), Updates.unset("abandoned"),
        Updates.set("leaseUntil", new Date(0))));
  }

  /** The outcome event is on the topic: the job is over for every worker. */
  public void announced(String backupId) {
    stored.updateOne(ById.filter(backupId, ne("state", State.RUNNING.name())), Updates.set("announced", true));
  }
}
