package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Projections;
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
 * Retention's own records, one document per addon: its plan and time zone, and every backup it had
 * with where the archive is, whether it was pruned (left the listing) and purged (archive deleted).
 *
 * <p>One document per addon because every decision is per addon: an evaluation is one lookup by id,
 * which every store serves from its id index, whatever the number of backups overall. Every write is
 * a {@code $set} on the fields it owns, so concurrent writers (the two consumers, the timer) never
 * lose each other's changes.
 */
@Component
public class RetentionCatalog {

  private final MongoCollection<Document> addons;

  public RetentionCatalog(MongoDatabase database) {
    this.addons = database.getCollection("retention");
  }

  /** A live backup record with where its archive is. */
  public record Record(StoredBackup backup, String appName, String archiveKey) {}

  /** An archive waiting for its grace period to end. */
  public record Purge(String backupId, String addonId, String archiveKey) {}

  /** The policy inputs an addon carries: its plan and the zone its days, weeks and months are counted in. */
  public record AddonPolicy(Plan plan, ZoneId zone) {}

  /**
   * Records a backup's outcome. Never revives a pruned record (the pruned flag is not touched), so a
   * replay of old completions leaves deleted backups deleted.
   */
  public void recordOutcome(String backupId, String addonId, String appName, BackupKind kind, boolean succeeded,
      Instant takenAt, String archiveKey) {
    String at = field(backupId);
    addons.updateOne(eq("_id", addonId), Updates.combine(
            Updates.set(at + ".id", backupId),
            Updates.set(at + ".app", appName),
            Updates.set(at + ".kind", kind.name()),
            Updates.set(at + ".ok", succeeded),
            Updates.set(at + ".takenAt", Date.from(takenAt)),
            Updates.set(at + ".key", archiveKey)),
        new UpdateOptions().upsert(true));
  }

  /**
   * Marks a backup pruned (it leaves the listing at once) with its archive to be deleted after
   * {@code purgeAfter}; idempotent, and a repeat keeps the earliest purge time.
   */
  public void markPruned(String backupId, String addonId, String reason, Instant prunedAt, Instant purgeAfter) {
    String at = field(backupId);
    addons.updateOne(eq("_id", addonId), Updates.combine(
            Updates.set(at + ".id", backupId),
            Updates.set(at + ".pruned", true),
            Updates.set(at + ".reason", reason),
            Updates.min(at + ".prunedAt", Date.from(prunedAt)),
            Updates.min(at + ".purgeAfter", Date.from(purgeAfter))),
        new UpdateOptions().upsert(true));
  }

  public void markPurged(String addonId, String backupId, Instant at) {
    addons.updateOne(eq("_id", addonId), Updates.set(field(backupId) + ".purgedAt", Date.from(at)));
  }

  public List<Record> liveBackups(String addonId) {
    List<Record> records = new ArrayList<>();
    for (Document b : entries(addons.find(eq("_id", addonId)).first())) {
      if (!b.getBoolean("pruned", false) && b.getString("kind") != null) {
        records.add(new Record(
            new StoredBackup(b.getString("id"), BackupKind.valueOf(b.getString("kind")), b.getBoolean("ok"),
                b.getDate("takenAt").toInstant()),
            b.getString("app"), b.getString("key")));
      }
    }
    return records;
  }

  /** The addon's pruned backups whose grace period is over and whose archive is still to be deleted. */
  public List<Purge> duePurges(String addonId, Instant now) {
    return duePurges(addons.find(eq("_id", addonId)).first(), now);
  }

  private static List<Purge> duePurges(Document addon, Instant now) {
    List<Purge> due = new ArrayList<>();
    for (Document b : entries(addon)) {
      Date purgeAfter = b.getDate("purgeAfter");
      if (purgeAfter != null && !purgeAfter.toInstant().isAfter(now) && b.getDate("purgedAt") == null) {
        due.add(new Purge(b.getString("id"), addon.getString("_id"), b.getString("key")));
      }
    }
    return due;
  }

  /** Every addon retention knows: the timer evaluates them all. */
  public List<String> addonIds() {
    List<String> ids = new ArrayList<>();
    addons.find().projection(Projections.include("_id")).forEach(d -> ids.add(d.getString("_id")));
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
    Document d = addons.find(eq("_id", addonId)).projection(Projections.include("plan", "zone")).first();
    return d == null || d.getString("plan") == null
        ? Optional.empty()
        : Optional.of(new AddonPolicy(Plan.valueOf(d.getString("plan")), ZoneId.of(d.getString("zone"))));
  }

  private static List<Document> entries(Document addon) {
    if (addon == null || addon.get("backups") == null) {
      return List.of();
    }
    Document backups = addon.get("backups", Document.class);
    return backups.values().stream().map(Document.class::cast).toList();
  }

  /** The backup's path inside its addon's document; ids never hold '.' or '$' but are escaped anyway. */
  private static String field(String backupId) {
    return "backups." + backupId.replace("%", "%25").replace(".", "%2E").replace("$", "%24");
  }
}
