package dev.backstop.worker.catalog;

import dev.backstop.kit.catalog.ById;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import java.time.Instant;
import java.util.Date;
import org.bson.Document;
import org.springframework.stereotype.Component;

/**
 * One record per backup id: the worker's guard against running a job twice. A request is taken only
 * if no record exists, or if the worker that took it let its lease run out (it died mid-dump).
 */
@Component
public class JobLedger {

  /** The states a job goes through; a finished job is never taken again. */
  public enum State { RUNNING, DONE, FAILED }

  private final MongoCollection<Document> jobs;

  public JobLedger(MongoDatabase database) {
    this.jobs = database.getCollection("jobs");
  }

  /** Takes the job for {@code owner} until {@code leaseUntil}; false if it is finished or held by a live worker. */
  public boolean claim(String backupId, String owner, Instant now, Instant leaseUntil) {
    try {
      jobs.insertOne(new Document("_id", backupId)
          .append("state", State.RUNNING.name())
          .append("owner", owner)
          .append("attempts", 1)
          .append("leaseUntil", Date.from(leaseUntil)));
      return true;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
    }
    return jobs.updateOne(
            ById.filter(backupId, eq("state", State.RUNNING.name()), lt("leaseUntil", Date.from(now))),
            Updates.combine(Updates.set("owner", owner), Updates.set("leaseUntil", Date.from(leaseUntil)), Updates.inc("attempts", 1)))
        .getModifiedCount() == 1;
  }

  public void finish(String backupId, State state) {
    jobs.updateOne(eq("_id", backupId), Updates.set("state", state.name()));
  }
}
