package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.kit.store.StoredRecords;
import org.bson.codecs.pojo.annotations.BsonId;
import dev.backstop.retention.policy.PlanHistory;
import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.bson.Document;
import org.springframework.stereotype.Component;

/**
 * The policy inputs of every addon retention knows (one small document each, {@code retention_policies}):
 * its plan and the zone its days, weeks and months are counted in. Kept apart from the backup records
 * ({@link RetentionLedger}) because another consumer writes it, for every addon, on every instance.
 */
@Component
public class RetentionCatalog {

  private final MongoCollection<Document> policies;

  public RetentionCatalog(MongoDatabase database) {
    this.policies = database.getCollection("retention_policies");
  }

  /** The policy inputs an addon carries: its plan now, its zone, and the plans it has been on. */
  public record AddonPolicy(Plan plan, ZoneId zone, PlanHistory history) {}

  /** What retention keeps of an addon: its plan now and the zone its days are counted in, at a revision. */
  public record StoredPolicy(@BsonId String addonId, Plan plan, ZoneId zone, Boolean removed, Long revision) {}

  /**
   * Stores the addon's plan and zone if its revision is newer. Every revision's plan also joins the
   * addon's plan history at {@code occurredAt}, whatever order revisions arrive in: each backup is kept
   * by the plan it was taken under.
   */
  public boolean recordPolicy(Addon addon, Instant occurredAt) {
    boolean newer = RevisionGuard.applyIfNewer(policies, addon.id(), addon.revision(),
        StoredRecords.setAll(new StoredPolicy(addon.id(), addon.plan(), addon.schedule().at().zone(), false, null), "",
            "_id", "revision"));
    recordPlan(addon.id(), addon.revision(), occurredAt, addon.plan());
    return newer;
  }

  /** The addon was removed at {@code revision}: it keeps the plan it had, and its history says removed from then on. */
  public boolean recordRemoval(String addonId, long revision, Instant occurredAt) {
    boolean newer = RevisionGuard.applyIfNewer(policies, addonId, revision, Updates.set("removed", true));
    recordPlan(addonId, revision, occurredAt, null);
    return newer;
  }

  private void recordPlan(String addonId, long revision, Instant occurredAt, Plan plan) {
    Document change = new Document("at", Date.from(occurredAt)).append("plan", plan == null ? null : plan.name());
    // idempotent: a replayed revision writes the same entry again
    policies.updateOne(eq("_id", addonId), Updates.set("plans.r" + revision, change), new UpdateOptions().upsert(true));
  }

  /** The known policies of many addons, in one query; addons without a known plan are absent. */
  public Map<String, AddonPolicy> policies(Collection<String> addonIds) {
    Map<String, AddonPolicy> found = new HashMap<>();
    policies.find(in("_id", addonIds)).forEach(d -> {
      StoredPolicy stored = StoredRecords.fromBson(d.toBsonDocument(), StoredPolicy.class);
      if (stored.plan() != null) {
        found.put(stored.addonId(), new AddonPolicy(stored.plan(), stored.zone(), history(d, stored.plan())));
      }
    });
    return found;
  }

  /** The plan history, by revision; an addon recorded before histories were kept has always had its plan. */
  private static PlanHistory history(Document d, Plan plan) {
    List<PlanHistory.Change> changes = new ArrayList<>();
    if (d.get("plans") instanceof Document plans) {
      plans.entrySet().stream()
          .filter(e -> e.getValue() instanceof Document)
          .sorted(Comparator.comparingLong(e -> Long.parseLong(e.getKey().substring(1))))
          .forEach(e -> {
            Document change = (Document) e.getValue();
            String name = change.getString("plan");
            changes.add(new PlanHistory.Change(change.getDate("at").toInstant(), name == null ? null : Plan.valueOf(name)));
          });
    }
    return changes.isEmpty() ? PlanHistory.always(plan) : new PlanHistory(changes);
  }
}
