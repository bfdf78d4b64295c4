package dev.backstop.scheduler.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.lte;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.scheduler.schedule.DailySchedule;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.springframework.stereotype.Component;

/**
 * The scheduler's own view of addons: schedule, plan and the next instant each one is due, indexed so
 * that a tick finds due addons without scanning them all.
 */
@Component
public class ScheduleCatalog {

  private final MongoCollection<Document> schedules;

  public ScheduleCatalog(MongoDatabase database) {
    this.schedules = database.getCollection("schedules");
    schedules.createIndex(Indexes.ascending("nextRunAt"));
  }

  /** A schedule entry as stored. */
  public record Entry(String addonId, String appName, int hour, ZoneId zone, Instant nextRunAt) {
    public DailySchedule schedule() {
      return DailySchedule.of(addonId, hour, zone);
    }
  }

  /**
   * Applies an addon's state if {@code revision} is newer than the stored one; an older or repeated
   * revision changes nothing, so redelivery and replay are harmless. {@code nextRunAt} null means
   * "never" (sandbox, disabled or removed).
   */
  public boolean apply(String addonId, long revision, Document state, Instant nextRunAt) {
    Bson update = Updates.combine(
        Updates.set("revision", revision),
        Updates.set("state", state),
        Updates.set("nextRunAt", nextRunAt == null ? null : Date.from(nextRunAt)));
    try {
      var result = schedules.updateOne(
          and(eq("_id", addonId), lt("revision", revision)), update, new UpdateOptions().upsert(true));
      return result.getModifiedCount() > 0 || result.getUpsertedId() != null;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() == ErrorCategory.DUPLICATE_KEY) {
        return false; // a newer or equal revision is stored already
      }
      throw e;
    }
  }

  public List<Entry> due(Instant now, int limit) {
    List<Entry> due = new ArrayList<>();
    for (Document doc : schedules.find(lte("nextRunAt", Date.from(now))).sort(Sorts.ascending("nextRunAt")).limit(limit)) {
      Document state = doc.get("state", Document.class);
      due.add(new Entry(
          doc.getString("_id"),
          state.getString("appName"),
          state.getInteger("hour"),
          ZoneId.of(state.getString("timezone")),
          doc.getDate("nextRunAt").toInstant()));
    }
    return due;
  }

  /**
   * Moves an entry on to its next run, only if no one else did since it was read: of two schedulers
   * handling the same entry, one moves it; the other's request carried the same id and is dropped.
   */
  public boolean advance(Entry entry, LocalDate requestedFor, Instant nextRunAt) {
    return schedules.updateOne(
            and(eq("_id", entry.addonId()), eq("nextRunAt", Date.from(entry.nextRunAt()))),
            Updates.combine(
                Updates.set("nextRunAt", Date.from(nextRunAt)),
                Updates.set("lastRequestedFor", requestedFor.toString())))
        .getModifiedCount() == 1;
  }
}
