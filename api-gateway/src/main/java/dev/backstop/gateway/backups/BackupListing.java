package dev.backstop.gateway.backups;

import dev.backstop.kit.catalog.ById;
import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.ne;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.springframework.stereotype.Component;

/**
 * The backups customers see, built from backup events. A backup only moves forward (pending, running,
 * then done or failed, then pruned), whatever order or how many times its events arrive, so that a
 * redelivery or a replay from offset 0 leaves the same listing.
 */
@Component
public class BackupListing {

  /** Where a backup stands; the rank orders the stages. */
  public enum Status {
    PENDING(0), RUNNING(1), DONE(2), FAILED(2), PRUNED(3);

    final int rank;

    Status(int rank) {
      this.rank = rank;
    }
  }

  /** One row of the listing. */
  public record Row(String id, String addonId, String appName, String kind, Status status, Instant createdAt,
      Long size, String sha256, String archiveKey, String archiveName, String node, String reason, Instant completedAt,
      Instant startedAt) {}

  private final MongoCollection<Document> backups;

  public BackupListing(MongoDatabase database) {
    this.backups = database.getCollection("backups");
    backups.createIndex(Indexes.compoundIndex(Indexes.ascending("addonId"), Indexes.descending("createdAt")));
  }

  /**
   * Moves backup {@code id} to {@code status} with the given fields, unless it is already at that
   * stage or further.
   */
  public void advance(String id, Status status, Document fields) {
    List<Bson> updates = new ArrayList<>();
    updates.add(Updates.set("status", status.name()));
    updates.add(Updates.set("rank", status.rank));
    fields.forEach((k, v) -> updates.add(Updates.set(k, v instanceof Instant i ? Date.from(i) : v)));
    try {
      backups.updateOne(ById.filter(id, lt("rank", status.rank)), Updates.combine(updates), new UpdateOptions().upsert(true));
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
      // already at this stage or further: a repeat or a late event
    }
  }

  /** The addon's backups, newest first, without pruned ones. */
  public List<Row> ofAddon(String addonId) {
    List<Row> rows = new ArrayList<>();
    backups.find(and(eq("addonId", addonId), ne("status", Status.PRUNED.name())))
        .sort(Sorts.descending("createdAt"))
        .forEach(d -> rows.add(toRow(d)));
    return rows;
  }

  public Optional<Row> find(String addonId, String id) {
    return Optional.ofNullable(backups.find(ById.filter(id, eq("addonId", addonId), ne("status", Status.PRUNED.name()))).first())
        .map(BackupListing::toRow);
  }

  public Optional<Row> latestDone(String addonId) {
    return Optional.ofNullable(backups.find(and(eq("addonId", addonId), eq("status", Status.DONE.name())))
        .sort(Sorts.descending("createdAt")).first()).map(BackupListing::toRow);
  }

  private static Row toRow(Document d) {
    return new Row(d.getString("_id"), d.getString("addonId"), d.getString("appName"), d.getString("kind"),
        Status.valueOf(d.getString("status")), instant(d, "createdAt"), d.get("size") == null ? null : ((Number) d.get("size")).longValue(),
        d.getString("sha256"), d.getString("archiveKey"), d.getString("archiveName"), d.getString("node"), d.getString("reason"),
        instant(d, "completedAt"), instant(d, "startedAt"));
  }

  private static Instant instant(Document d, String field) {
    Date date = d.getDate(field);
    return date == null ? null : date.toInstant();
  }
}
