package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.RevisionGuard;
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

  /**
   * Stores the addon's plan and zone if {@code revision} is newer; a removed addon keeps the plan it had.
   * Every revision's plan (null: removed) also joins the addon's plan history at {@code occurredAt},
   * whatever order revisions arrive in: each backup is kept by the plan it was taken under.
   */
  public boolean recordPolicy(String addonId, long revision, Instant occurredAt, Plan plan, String zone, boolean removed) {
    var update = plan == null
        ? Updates.set("removed", removed)
        : Updates.combine(Updates.set("plan", plan.name()), Updates.set("zone", zone), Updates.set("removed", removed));
    boolean newer = RevisionGuard.applyIfNewer(policies, addonId, revision, update);
    Document change = new Document("at", Date.from(occurredAt));
    change.append("plan", removed ? null : plan == null ? null : plan.name());
    // idempotent: a replayed revision writes the same entry again
    policies.updateOne(eq("_id", addonId), Updates.set("plans.r" + revision, change), new UpdateOptions().upsert(true));
    return newer;
  }

  /** The known policies of many addons, in one query; addons without a known plan are absent. */
  public Map<String, AddonPolicy> policies(Collection<String> addonIds) {
    Map<String, AddonPolicy> found = new HashMap<>();
    policies.find(in("_id", addonIds)).forEach(d -> {
      if (d.getString("plan") != null) {
        Plan plan = Plan.valueOf(d.getString("plan"));
        found.put(d.getString("_id"), new AddonPolicy(plan, ZoneId.of(d.getString("zone")), history(d, plan)));
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
