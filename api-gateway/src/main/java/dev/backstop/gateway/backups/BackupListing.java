package dev.backstop.gateway.backups;

import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.ne;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
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

  /** One row of the listing; {@code verification} is null until a restore test of the backup ended. */
  public record Row(String id, String addonId, String appName, String kind, Status status, Instant createdAt,
      Long size, String sha256, String archiveKey, String archiveName, String node, String nodeReason, String reason,
      Instant completedAt, Instant startedAt, Verification verification, Instant targetTime) {}

  /** How the restore test of a done backup went. */
  /**
   * What one event tells of a backup; fields left null are not written, so each event sets only what it knows.
   */
  public record Stage(String addonId, String appName, String kind, Instant createdAt, String node, String nodeReason,
      Instant startedAt, Long size, String sha256, String archiveKey, String archiveName, String reason, Instant completedAt,
      Instant targetTime) {

    /** A requested backup: pending. */
    public static Stage requested(String addonId, String appName, String kind, Instant requestedAt) {
      return new Stage(addonId, appName, kind, requestedAt, null, null, null, null, null, null, null, null, null, null);
    }

    public static Stage pruned(String addonId, String appName, String reason) {
      return new Stage(addonId, appName, null, null, null, null, null, null, null, null, null, reason, null, null);
    }

    public Stage started(String onNode, String whyThatNode, Instant at) {
      return new Stage(addonId, appName, kind, createdAt, onNode, whyThatNode, at, size, sha256, archiveKey, archiveName, reason,
          completedAt, targetTime);
    }

    public Stage completed(Long bytes, String digest, String key, String name, Instant at) {
      return new Stage(addonId, appName, kind, createdAt, node, nodeReason, startedAt, bytes, digest, key, name, reason, at,
          targetTime);
    }

    public Stage failed(String why, Instant at) {
      return new Stage(addonId, appName, kind, createdAt, node, nodeReason, startedAt, size, sha256, archiveKey, archiveName, why, at,
          targetTime);
    }

    /** A point-in-time restore's target instant (null: not a restore, or not known from this event). */
    public Stage restoringTo(Instant target) {
      return new Stage(addonId, appName, kind, createdAt, node, nodeReason, startedAt, size, sha256, archiveKey, archiveName, reason,
          completedAt, target);
    }
  }

  public record Verification(boolean passed, Instant at, String summary, int tables, long rows) {}

  private final MongoCollection<Document> backups;
  private final MongoCollection<Document> addons;

  public BackupListing(MongoDatabase database) {
    this.backups = database.getCollection("backups");
    this.addons = database.getCollection("backup_ids");
  }

  /**
   * Moves backup {@code id} to {@code status} with the given fields (which name its {@code addonId}),
   * unless it is already at that stage or further.
   *
   * <p>Besides the backup's own document, each addon has one document listing the ids of its backups
   * still shown, so that a listing is lookups by {@code _id} only: one for the addon, one {@code $in} for its
   * backups. Every store serves those from its id index, including the in-process one, which has no
   * secondary indexes. The id is added before the backup is written and removed after it is pruned,
   * so a crash in between leaves at worst a pruned id behind, which listings skip and then drop.
   */
  public void advance(String id, Status status, Stage fields) {
    String addonId = fields.addonId();
    if (status != Status.PRUNED) {
      addons.updateOne(eq("_id", addonId), Updates.addToSet("ids", id), new UpdateOptions().upsert(true));
    }
    List<Bson> updates = new ArrayList<>();
    updates.add(Updates.set("status", status.name()));
    updates.add(Updates.set("rank", status.rank));
    StoredRecords.toBson(fields).forEach((k, v) -> updates.add(Updates.set(k, v)));
    try {
      backups.updateOne(ById.filter(id, lt("rank", status.rank)), Updates.combine(updates), new UpdateOptions().upsert(true));
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
      // already at this stage or further: a repeat or a late event. A replay reads the requests topic apart
      // from the events topic, so a request may come after its backup was pruned: its id leaves the listing again
      if (status != Status.PRUNED && backups.find(ById.filter(id, eq("status", Status.PRUNED.name()))).first() != null) {
        addons.updateOne(eq("_id", addonId), Updates.pull("ids", id));
      }
    }
    if (status == Status.PRUNED) {
      // pruned ids are kept apart: retention still counts them (see prunedOf)
      addons.updateOne(eq("_id", addonId), Updates.combine(Updates.pull("ids", id), Updates.addToSet("pruned", id)));
    }
  }

  /** The addon's pruned backups (pruned since the listing kept them), in no particular order. */
  public List<Row> prunedOf(String addonId) {
    Document ids = addons.find(eq("_id", addonId)).first();
    if (ids == null || ids.getList("pruned", String.class, List.of()).isEmpty()) {
      return List.of();
    }
    List<Row> rows = new ArrayList<>();
    for (Document d : backups.find(in("_id", ids.getList("pruned", String.class)))) {
      Row row = toRow(d);
      if (row.status() == Status.PRUNED && addonId.equals(row.addonId())) {
        rows.add(row);
      }
    }
    return rows;
  }

  /**
   * Records how backup {@code id}'s restore test went. Only a done backup takes it: the test follows
   * the completion on the same partition, and a pruned backup has left the listing. A repeat sets the
   * same values again.
   */
  public void verified(String id, Verification verification) {
    backups.updateOne(ById.filter(id, eq("status", Status.DONE.name())), Updates.set("verification",
        new Document("passed", verification.passed()).append("at", Date.from(verification.at()))
            .append("summary", verification.summary()).append("tables", verification.tables())
            .append("rows", verification.rows())));
  }

  /** The addon's backups, newest first, without pruned ones. */
  public List<Row> ofAddon(String addonId) {
    Document ids = addons.find(eq("_id", addonId)).first();
    if (ids == null || ids.getList("ids", String.class).isEmpty()) {
      return List.of();
    }
    List<Row> rows = new ArrayList<>();
    List<String> gone = new ArrayList<>();
    for (Document d : backups.find(in("_id", ids.getList("ids", String.class)))) {
      Row row = toRow(d);
      if (row.status() == Status.PRUNED || !addonId.equals(row.addonId())) {
        gone.add(row.id());
      } else {
        rows.add(row);
      }
    }
    if (!gone.isEmpty()) {
      addons.updateOne(eq("_id", addonId), Updates.pullAll("ids", gone));
    }
    rows.sort(Comparator.comparing(Row::createdAt, Comparator.nullsLast(Comparator.reverseOrder())));
    return rows;
  }

  public Optional<Row> find(String addonId, String id) {
    return Optional.ofNullable(backups.find(ById.filter(id, eq("addonId", addonId), ne("status", Status.PRUNED.name()))).first())
        .map(BackupListing::toRow);
  }

  public Optional<Row> latestDone(String addonId) {
    return ofAddon(addonId).stream().filter(r -> r.status() == Status.DONE).findFirst();
  }

  private static Row toRow(Document d) {
    return new Row(d.getString("_id"), d.getString("addonId"), d.getString("appName"), d.getString("kind"),
        Status.valueOf(d.getString("status")), instant(d, "createdAt"), d.get("size") == null ? null : ((Number) d.get("size")).longValue(),
        d.getString("sha256"), d.getString("archiveKey"), d.getString("archiveName"), d.getString("node"),
        d.getString("nodeReason"), d.getString("reason"),
        instant(d, "completedAt"), instant(d, "startedAt"), verification(d.get("verification", Document.class)),
        instant(d, "targetTime"));
  }

  private static Verification verification(Document v) {
    return v == null ? null : new Verification(v.getBoolean("passed", false), instant(v, "at"), v.getString("summary"),
        ((Number) v.get("tables")).intValue(), ((Number) v.get("rows")).longValue());
  }

  private static Instant instant(Document d, String field) {
    Date date = d.getDate(field);
    return date == null ? null : date.toInstant();
  }
}
