package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lte;
import static com.mongodb.client.model.Filters.ne;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.retention.policy.StoredBackup;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.springframework.stereotype.Component;

/**
 * Retention's own records: every backup of every addon with where its archive is and whether it was
 * pruned (left the listing) and purged (archive deleted), and each addon's plan and time zone.
 */
@Component
public class RetentionCatalog {

  private final MongoCollection<Document> backups;
  private final MongoCollection<Document> addons;

  public RetentionCatalog(MongoDatabase database) {
    this.backups = database.getCollection("backups");
    this.addons = database.getCollection("addons");
    backups.createIndex(Indexes.ascending("addonId"));
    backups.createIndex(Indexes.ascending("purgeAfter"));
  }

  /** A live backup record with where its archive is. */
  public record Record(StoredBackup backup, String appName, String archiveKey) {}

  /** An archive waiting for its grace period to end. */
  public record Purge(String backupId, String addonId, String archiveKey) {}

  /** The policy inputs an addon carries: its plan and the zone its days, weeks and months are counted in. */
  public record AddonPolicy(Plan plan, ZoneId zone) {}

  /**
   * Records a backup's outcome. Never revives a pruned record, so a replay of old completions leaves
   * deleted backups deleted.
   */
  public void recordOutcome(String backupId, String addonId, String appName, BackupKind kind, boolean succeeded,
      Instant takenAt, String archiveKey) {
    backups.updateOne(eq("_id", backupId),
        Updates.combine(
            Updates.setOnInsert("pruned", false),
            Updates.set("addonId", addonId),
            Updates.set("appName", appName),
            Updates.set("kind", kind.name()),
            Updates.set("succeeded", succeeded),
            Updates.set("takenAt", Date.from(takenAt)),
            Updates.set("archiveKey", archiveKey)),
        new UpdateOptions().upsert(true));
  }

  /**
   * Marks a backup pruned (it leaves the listing at once) with its archive to be deleted after
   * {@code purgeAfter}; idempotent, and a repeat keeps the first purge time.
   */
  public void markPruned(String backupId, String addonId, String reason, Instant prunedAt, Instant purgeAfter) {
    backups.updateOne(eq("_id", backupId),
        Updates.combine(Updates.set("pruned", true), Updates.set("addonId", addonId),
            Updates.setOnInsert("prunedReason", reason), Updates.setOnInsert("prunedAt", Date.from(prunedAt))),
        new UpdateOptions().upsert(true));
    backups.updateOne(and(eq("_id", backupId), eq("purgeAfter", null), ne("purged", true)),
        Updates.set("purgeAfter", Date.from(purgeAfter)));
  }

  public List<Record> liveBackups(String addonId) {
    List<Record> records = new ArrayList<>();
    for (Document d : backups.find(and(eq("addonId", addonId), ne("pruned", true), ne("kind", null)))) {
      records.add(new Record(
          new StoredBackup(d.getString("_id"), BackupKind.valueOf(d.getString("kind")), d.getBoolean("succeeded"),
              d.getDate("takenAt").toInstant()),
          d.getString("appName"), d.getString("archiveKey")));
    }
    return records;
  }

  /** Pruned backups whose grace period is over and whose archive is still to be deleted. */
  public List<Purge> duePurges(Instant now) {
    List<Purge> due = new ArrayList<>();
    backups.find(and(lte("purgeAfter", Date.from(now)), ne("purged", true)))
        .forEach(d -> due.add(new Purge(d.getString("_id"), d.getString("addonId"), d.getString("archiveKey"))));
    return due;
  }

  public void markPurged(String backupId, Instant at) {
    backups.updateOne(eq("_id", backupId), Updates.combine(Updates.set("purged", true), Updates.set("purgedAt", Date.from(at))));
  }

  /** Every addon with backups still listed: the timer evaluates them all. */
  public List<String> addonsWithLiveBackups() {
    List<String> ids = new ArrayList<>();
    backups.distinct("addonId", ne("pruned", true), String.class).forEach(ids::add);
    return ids;
  }

  /** Stores the addon's plan and zone if {@code revision} is newer; a removed addon keeps the plan it had. */
  public boolean recordPolicy(String addonId, long revision, Plan plan, String zone, boolean removed) {
    var update = plan == null
        ? Updates.set("removed", removed)
        : Updates.combine(Updates.set("plan", plan.name()), Updates.set("zone", zone), Updates.set("removed", removed));
    return RevisionGuard.applyIfNewer(addons, addonId, revision, update);
  }

  public Optional<AddonPolicy> policy(String addonId) {
    Document d = addons.find(eq("_id", addonId)).first();
    return d == null || d.getString("plan") == null
        ? Optional.empty()
        : Optional.of(new AddonPolicy(Plan.valueOf(d.getString("plan")), ZoneId.of(d.getString("zone"))));
  }
}
