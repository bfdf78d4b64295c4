package dev.backstop.scheduler.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.lte;
import static com.mongodb.client.model.Filters.or;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.BackupKind;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.bson.Document;
import org.bson.codecs.pojo.annotations.BsonId;
import org.bson.conversions.Bson;
import org.springframework.stereotype.Component;

/**
 * The scheduler's own view of what is due: one entry per (addon, kind) — the daily scheduled backup,
 * and the weekly point-in-time base backup of PostgreSQL addons — with the next instant it is due,
 * indexed so that a tick finds due entries without scanning them all.
 *
 * <p>Entries are claimed before they are handled: a claim is a token and an expiry on the entry,
 * taken with a conditional update, so that of several scheduler instances exactly one handles an
 * entry, and a claim left by an instance that died expires after {@link #CLAIM_TTL}.
 */
@Component
public class ScheduleCatalog {

  /** How long a claim holds; an instance that dies holding one delays its entries by at most this. */
  public static final Duration CLAIM_TTL = Duration.ofSeconds(45);

  private final MongoCollection<Document> schedules;
  private final MongoCollection<StoredEntry> entries;

  public ScheduleCatalog(MongoDatabase database) {
    this.schedules = database.getCollection("schedules");
    this.entries = StoredRecords.collection(database, "schedules", StoredEntry.class);
    schedules.createIndex(Indexes.ascending("nextRunAt"));
    schedules.createIndex(Indexes.ascending("claimToken"));
  }

  /** What an entry requests backups of, and when: the addon's app and backup time; null once the addon is removed. */
  public record Target(String appName, BackupTime at) {}

  /** An entry as stored; {@code nextRunAt} null: never due. */
  public record StoredEntry(@BsonId String id, String addonId, BackupKind kind, Target state, Instant nextRunAt,
      String claimToken, Instant claimUntil, LocalDate lastRequestedFor, Long revision) {}

  /** A claimed entry. */
  public record Entry(String id, String addonId, BackupKind kind, String appName, BackupTime at,
      Instant nextRunAt, String claimToken, LocalDate lastRequestedFor) {}

  public static String entryId(String addonId, BackupKind kind) {
    return addonId + "|" + kind.name();
  }

  /**
   * Stores an entry's schedule if {@code revision} is newer than the stored one; an older or repeated
   * revision changes nothing, so redelivery and replay are harmless. {@code nextRunAt} null means
   * "never" (sandbox, disabled, removed, or a kind the addon does not have).
   */
  public boolean apply(String addonId, BackupKind kind, long revision, Target state, Instant nextRunAt) {
    return RevisionGuard.applyIfNewer(schedules, entryId(addonId, kind), revision, Updates.combine(
        Updates.set("addonId", addonId),
        Updates.set("kind", kind.name()),
        Updates.set("state", state == null ? null : StoredRecords.toBson(state)),
        Updates.set("nextRunAt", nextRunAt == null ? null : Date.from(nextRunAt))));
  }

  /** Claims up to {@code limit} entries due at {@code now} that no live claim holds; returns those this call claimed. */
  public List<Entry> claimDue(Instant now, int limit) {
    Bson dueAndFree = and(lte("nextRunAt", Date.from(now)), claimFree(now));
    List<String> ids = new ArrayList<>();
    schedules.find(dueAndFree).projection(Projections.include("_id")).sort(Sorts.ascending("nextRunAt")).limit(limit)
        .forEach(d -> ids.add(d.getString("_id")));
    if (ids.isEmpty()) {
      return List.of();
    }
    String token = UUID.randomUUID().toString();
    schedules.updateMany(ById.filter(new Document("$in", ids), lte("nextRunAt", Date.from(now)), claimFree(now)),
        Updates.combine(Updates.set("claimToken", token), Updates.set("claimUntil", Date.from(now.plus(CLAIM_TTL)))));
    List<Entry> claimed = new ArrayList<>();
    for (StoredEntry e : entries.find(eq("claimToken", token))) {
      claimed.add(new Entry(e.id(), e.addonId(), e.kind(), e.state().appName(), e.state().at(), e.nextRunAt(), token,
          e.lastRequestedFor()));
    }
    return claimed;
  }

  private static Bson claimFree(Instant now) {
    return or(eq("claimUntil", null), lt("claimUntil", Date.from(now)));
  }

  /** Where a handled entry moves on to. */
  public record Advance(Entry entry, LocalDate requestedFor, Instant nextRunAt) {}

  /**
   * Moves the handled entries of one claimed batch on to their next runs and releases them, in one
   * round trip; returns how many moved. Entries whose claim was lost meanwhile (it expired while this
   * instance stalled and another took them, or an addon event rescheduled them) are left alone.
   *
   * <p>The claim taken atomically in {@link #claimDue} is what makes this instance the entries' only
   * handler; the check here only guards against a claim that expired. The writes go by {@code _id}
   * alone, which every store serves from its id index.
   */
  public int advance(List<Advance> handled) {
    if (handled.isEmpty()) {
      return 0;
    }
    String token = handled.get(0).entry().claimToken();
    java.util.Map<String, Date> stillClaimed = new java.util.HashMap<>();
    schedules.find(eq("claimToken", token)).projection(Projections.include("nextRunAt"))
        .forEach(d -> stillClaimed.put(d.getString("_id"), d.getDate("nextRunAt")));
    List<com.mongodb.client.model.WriteModel<Document>> writes = new ArrayList<>();
    for (Advance a : handled) {
      Date current = stillClaimed.get(a.entry().id());
      if (current != null && current.toInstant().equals(a.entry().nextRunAt())) {
        writes.add(new com.mongodb.client.model.UpdateOneModel<>(eq("_id", a.entry().id()), Updates.combine(
            Updates.set("nextRunAt", Date.from(a.nextRunAt())),
            Updates.set("lastRequestedFor", a.requestedFor()),
            Updates.unset("claimToken"),
            Updates.unset("claimUntil"))));
      }
    }
    if (!writes.isEmpty()) {
      schedules.bulkWrite(writes, new com.mongodb.client.model.BulkWriteOptions().ordered(false));
    }
    return writes.size();
  }

  /** Entries due at {@code now} that nobody handled yet, claimed or not; for health and tests. */
  public long overdue(Instant now) {
    return schedules.countDocuments(lte("nextRunAt", Date.from(now)));
  }
}
