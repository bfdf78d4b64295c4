package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.in;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.schemas.events.Plan;
import java.time.ZoneId;
import java.util.Collection;
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

  /** The policy inputs an addon carries. */
  public record AddonPolicy(Plan plan, ZoneId zone) {}

  /** Stores the addon's plan and zone if {@code revision} is newer; a removed addon keeps the plan it had. */
  public boolean recordPolicy(String addonId, long revision, Plan plan, String zone, boolean removed) {
    var update = plan == null
        ? Updates.set("removed", removed)
        : Updates.combine(Updates.set("plan", plan.name()), Updates.set("zone", zone), Updates.set("removed", removed));
    return RevisionGuard.applyIfNewer(policies, addonId, revision, update);
  }

  /** The known policies of many addons, in one query; addons without a known plan are absent. */
  public Map<String, AddonPolicy> policies(Collection<String> addonIds) {
    Map<String, AddonPolicy> found = new HashMap<>();
    policies.find(in("_id", addonIds)).forEach(d -> {
      if (d.getString("plan") != null) {
        found.put(d.getString("_id"), new AddonPolicy(Plan.valueOf(d.getString("plan")), ZoneId.of(d.getString("zone"))));
      }
    });
    return found;
  }
}
