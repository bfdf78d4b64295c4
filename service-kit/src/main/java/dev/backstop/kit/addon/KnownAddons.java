package dev.backstop.kit.addon;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.exists;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.AddonProjection;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.Document;

/**
 * A service's own copy of the addons it has heard of, kept from {@code backstop.addons}: one
 * {@link Addon} document each, written only by newer revisions ({@link RevisionGuard}). The one
 * mapping from addon events to stored state; services that need only part of an addon derive it from
 * {@link Addon#of}.
 *
 * <p>Beside the addon, each document keeps the plan of every revision, {@code plans.r<revision> =
 * {at, plan|null}} (null: removed), whatever order revisions arrive in, so that a backup can be judged
 * by the plan it was taken under ({@link #planChanges}).
 */
public class KnownAddons implements AddonProjection {

  /** The plan an addon moved to at {@code at}; {@code plan} null means it was removed. */
  public record PlanChange(Instant at, Plan plan) {}

  private final MongoCollection<Document> documents;
  private final MongoCollection<Addon> addons;

  public KnownAddons(MongoDatabase database, String collection) {
    this.documents = database.getCollection(collection);
    this.addons = StoredRecords.collection(database, collection, Addon.class);
    documents.createIndex(Indexes.ascending("appName"));
  }

  @Override
  public boolean upsert(AddonSpec spec, long revision) {
    return RevisionGuard.applyIfNewer(documents, spec.getAddonId(), revision,
        StoredRecords.setAll(Addon.of(spec, revision), "", "_id", "revision"));
  }

  @Override
  public boolean markRemoved(String addonId, long revision) {
    return RevisionGuard.applyIfNewer(documents, addonId, revision, Updates.set("removed", true));
  }

  @Override
  public boolean upsert(AddonSpec spec, long revision, Instant occurredAt) {
    boolean newer = upsert(spec, revision);
    recordPlan(spec.getAddonId(), revision, occurredAt, spec.getPlan());
    return newer;
  }

  @Override
  public boolean markRemoved(String addonId, long revision, Instant occurredAt) {
    boolean newer = markRemoved(addonId, revision);
    recordPlan(addonId, revision, occurredAt, null);
    return newer;
  }

  private void recordPlan(String addonId, long revision, Instant at, Plan plan) {
    // idempotent: a replayed revision writes the same entry again
    documents.updateOne(eq("_id", addonId), Updates.set("plans.r" + revision,
        new Document("at", Date.from(at)).append("plan", plan == null ? null : plan.name())), new UpdateOptions().upsert(true));
  }

  /** The addon, unless this service never heard of it (a removal seen before its registration is not an addon). */
  public Optional<Addon> find(String addonId) {
    return Optional.ofNullable(addons.find(ById.filter(addonId, exists("appName", true))).first());
  }

  /** The app's addon, or empty if the addon does not exist or belongs to another app (the caller cannot tell which). */
  public Optional<Addon> findForApp(String appName, String addonId) {
    return find(addonId).filter(a -> a.appName().equals(appName));
  }

  /** The app's addons by id, removed ones included. */
  public List<Addon> ofApp(String appName) {
    return addons.find(eq("appName", appName)).sort(Sorts.ascending("_id")).into(new ArrayList<>());
  }

  /** The newest revision this copy has applied; 0 for an addon it never heard of. */
  public long revision(String addonId) {
    Document d = documents.find(eq("_id", addonId)).projection(Projections.include("revision")).first();
    return d != null && d.get("revision") instanceof Number n ? n.longValue() : 0;
  }

  /** The plans the addon has been on, oldest revision first; empty if none was recorded. */
  public List<PlanChange> planChanges(String addonId) {
    Document d = documents.find(eq("_id", addonId)).projection(Projections.include("plans")).first();
    List<PlanChange> changes = new ArrayList<>();
    if (d != null && d.get("plans") instanceof Document plans) {
      plans.entrySet().stream()
          .filter(e -> e.getValue() instanceof Document)
          .sorted(Comparator.comparingLong(e -> Long.parseLong(e.getKey().substring(1))))
          .forEach(e -> {
            Document change = (Document) e.getValue();
            String name = change.getString("plan");
            changes.add(new PlanChange(change.getDate("at").toInstant(), name == null ? null : Plan.valueOf(name)));
          });
    }
    return changes;
  }
}
