package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
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
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.springframework.stereotype.Component;

/** Retention's own records: every backup of every addon, and each addon's plan. */
@Component
public class RetentionCatalog {

  private final MongoCollection<Document> backups;
  private final MongoCollection<Document> addons;

  public RetentionCatalog(MongoDatabase database) {
    this.backups = database.getCollection("backups");
    this.addons = database.getCollection("addons");
    backups.createIndex(Indexes.ascending("addonId"));
  }

  /** A live backup record with where its archive is. */
  public record Record(StoredBackup backup, String appName, String archiveKey) {}

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

  /** Marks a backup deleted; idempotent. */
  public void markPruned(String backupId, String addonId, String reason, Instant at) {
    backups.updateOne(eq("_id", backupId),
        Updates.combine(Updates.set("pruned", true), Updates.set("addonId", addonId),
            Updates.set("prunedReason", reason), Updates.set("prunedAt", Date.from(at))),
        new UpdateOptions().upsert(true));
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

  /** Stores the addon's plan if {@code revision} is newer; a removed addon keeps the plan it had. */
  public boolean recordPlan(String addonId, long revision, Plan plan, boolean removed) {
    var update = plan == null
        ? Updates.set("removed", removed)
        : Updates.combine(Updates.set("plan", plan.name()), Updates.set("removed", removed));
    return RevisionGuard.applyIfNewer(addons, addonId, revision, update);
  }

  public Optional<Plan> plan(String addonId) {
    Document d = addons.find(eq("_id", addonId)).first();
    return d == null || d.getString("plan") == null ? Optional.empty() : Optional.of(Plan.valueOf(d.getString("plan")));
  }
}
