package dev.backstop.worker.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.exists;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.ne;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import java.time.Instant;
import java.util.Date;
import org.bson.Document;
import org.bson.types.Binary;
import org.springframework.stereotype.Component;

/**
 * One record per backup id: the workers' guard against running a job twice, and against losing one.
 *
 * <p>A worker takes a job with a short lease and renews it while the dump runs (its heartbeat). A
 * request redelivered while its lease is live is held back, not dropped: the worker that holds it may
 * still die. Once the lease has run out (the worker was killed, its machine lost), the next worker to
 * see the request takes the job over and dumps again.
 *
 * <p>The outcome event is written here before it is published (an outbox of one): a worker that dies
 * between the two leaves it unannounced, and whoever takes the job over publishes that same event
 * instead of dumping a second time.
 */
@Component
public class JobLedger {

  /** The states a job goes through; a finished job is never dumped again. */
  public enum State { RUNNING, DONE, FAILED }

  /** What {@link #claim} found. */
  public sealed interface Claim {
    /**
     * This worker runs the job; {@code attempt} counts takeovers, from 1. {@code startedAt} is when an
     * earlier worker started the backup (null on the first attempt): the backup keeps that time, and so
     * its archive's name, so that an archive stored by a worker that died before recording its outcome
     * is replaced, not left behind.
     */
    record Taken(int attempt, Instant startedAt) implements Claim {}

    /** Finished and announced: nothing left to do. */
    record Finished(State state) implements Claim {}

    /** A live worker holds the job until {@code leaseUntil}. */
    record Held(String owner, Instant leaseUntil) implements Claim {}

    /** Finished by a worker that died before publishing: this worker publishes {@code outcome} (an encoded event). */
    record Unannounced(byte[] outcome) implements Claim {}
  }

  private final MongoCollection<Document> jobs;

  /** The dump jobs' ledger (collection {@code jobs}). */
  @org.springframework.beans.factory.annotation.Autowired
  public JobLedger(MongoDatabase database) {
    this(database, "jobs");
  }

  /** A ledger of other jobs run once per backup, such as restore tests, in a collection of their own. */
  public JobLedger(MongoDatabase database, String collection) {
    this.jobs = database.getCollection(collection);
  }

  /** Takes the job for {@code owner} until {@code leaseUntil} unless it is finished or held by a live worker. */
  public Claim claim(String backupId, String owner, Instant now, Instant leaseUntil) {
    try {
      jobs.insertOne(new Document("_id", backupId)
          .append("state", State.RUNNING.name())
          .append("owner", owner)
          .append("attempts", 1)
          .append("leaseUntil", Date.from(leaseUntil)));
      return new Claim.Taken(1, null);
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    while (true) {
      Document job = jobs.find(eq("_id", backupId)).first();
      State state = State.valueOf(job.getString("state"));
      Instant lease = job.getDate("leaseUntil").toInstant();
      boolean announced = job.getBoolean("announced", true);
      if (state != State.RUNNING && announced) {
        return new Claim.Finished(state);
      }
      if (!lease.isBefore(now)) {
        return new Claim.Held(job.getString("owner"), lease);
      }
      // the holder's lease ran out: take over, unless another worker does so first (then look again)
      Document taken = jobs.findOneAndUpdate(
          ById.filter(backupId, eq("state", state.name()), eq("owner", job.getString("owner")), lt("leaseUntil", Date.from(now))),
          Updates.combine(Updates.set("owner", owner), Updates.set("leaseUntil", Date.from(leaseUntil)), Updates.inc("attempts", 1)));
      if (taken != null) {
        return state == State.RUNNING
            ? new Claim.Taken(taken.getInteger("attempts", 1) + 1,
                taken.getDate("startedAt") == null ? null : taken.getDate("startedAt").toInstant())
            : new Claim.Unannounced(taken.get("outcome", Binary.class).getData());
      }
    }
  }

  /** Records when the backup started, once: a worker taking the job over keeps the first time. */
  public void started(String backupId, String owner, Instant startedAt) {
    jobs.updateOne(ById.filter(backupId, eq("owner", owner), exists("startedAt", false)),
        Updates.set("startedAt", Date.from(startedAt)));
  }

  /** Extends the lease of a job {@code owner} still holds; false if another worker has taken it over. */
  public boolean renew(String backupId, String owner, Instant leaseUntil) {
    return jobs.updateOne(ById.filter(backupId, eq("owner", owner), eq("state", State.RUNNING.name())),
        Updates.set("leaseUntil", Date.from(leaseUntil))).getMatchedCount() == 1;
  }

  /**
   * Gives up a job {@code owner} holds without finishing it (it could not run it for reasons of its
   * own): its lease ends now, so whoever sees the request next takes the job at once.
   */
  public void release(String backupId, String owner) {
    jobs.updateOne(ById.filter(backupId, eq("owner", owner), eq("state", State.RUNNING.name())),
        Updates.set("leaseUntil", new Date(0)));
  }

  /**
   * Records how the job ended, with the encoded outcome event, if {@code owner} still holds it. False
   * means another worker took it over: this worker's outcome must not be published.
   */
  public boolean settle(String backupId, String owner, State state, byte[] outcome) {
    return jobs.updateOne(ById.filter(backupId, eq("owner", owner), eq("state", State.RUNNING.name())),
        Updates.combine(Updates.set("state", state.name()), Updates.set("outcome", new Binary(outcome)),
            Updates.set("announced", false))).getMatchedCount() == 1;
  }

  /** The outcome event is on the topic: the job is over for every worker. */
  public void announced(String backupId) {
    jobs.updateOne(ById.filter(backupId, ne("state", State.RUNNING.name())), Updates.set("announced", true));
  }
}
