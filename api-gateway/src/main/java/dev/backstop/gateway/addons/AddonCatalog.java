package dev.backstop.gateway.addons;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.AddonProjection;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.springframework.stereotype.Component;

/** The gateway's view of addons (never the password): who owns which addon, its plan, engine and status. */
@Component
public class AddonCatalog implements AddonProjection {

  private final MongoCollection<Document> addons;

  public AddonCatalog(MongoDatabase database) {
    this.addons = database.getCollection("addons");
    addons.createIndex(Indexes.ascending("appName"));
  }

  /** An addon as the API shows it. */
  public record Addon(String id, String appName, String engine, String plan, String database, List<Document> nodes,
      Document schedule, boolean removed, long revision) {}

  @Override
  public boolean upsert(AddonSpec spec, long revision) {
    return RevisionGuard.applyIfNewer(addons, spec.getAddonId(), revision, Updates.combine(
        Updates.set("appName", spec.getAppName()),
        Updates.set("engine", spec.getEngine().name()),
        Updates.set("plan", spec.getPlan().name()),
        Updates.set("database", spec.getDatabase()),
        Updates.set("user", spec.getUser()),
        // kept sealed, only to publish the whole addon again when its schedule changes
        Updates.set("passwordKeyId", spec.getPassword().getKeyId()),
        Updates.set("passwordSealed", new org.bson.types.Binary(bytes(spec.getPassword().getCiphertext()))),
        Updates.set("nodes", spec.getNodes().stream()
            .map(n -> new Document("role", n.getRole().name()).append("host", n.getHost()).append("port", n.getPort()))
            .toList()),
        Updates.set("schedule", new Document("enabled", spec.getSchedule().getEnabled())
            .append("hour", spec.getSchedule().getHour()).append("timezone", spec.getSchedule().getTimezone())),
        Updates.set("removed", false)));
  }

  @Override
  public boolean markRemoved(String addonId, long revision) {
    return RevisionGuard.applyIfNewer(addons, addonId, revision, Updates.set("removed", true));
  }

  /** The addon's whole current state, as its next AddonChanged carries it. */
  public Optional<AddonSpec> spec(String addonId) {
    Document d = addons.find(eq("_id", addonId)).first();
    if (d == null || d.getString("appName") == null) {
      return Optional.empty();
    }
    Document schedule = d.get("schedule", Document.class);
    return Optional.of(new AddonSpec(addonId, d.getString("appName"), Engine.valueOf(d.getString("engine")),
        Plan.valueOf(d.getString("plan")), d.getString("database"), d.getString("user"),
        new SealedSecret(d.getString("passwordKeyId"), ByteBuffer.wrap(d.get("passwordSealed", org.bson.types.Binary.class).getData())),
        d.getList("nodes", Document.class).stream()
            .map(n -> new DatabaseNode(NodeRole.valueOf(n.getString("role")), n.getString("host"), n.getInteger("port")))
            .toList(),
        new BackupSchedule(schedule.getBoolean("enabled"), schedule.getInteger("hour"), schedule.getString("timezone"))));
  }

  private static byte[] bytes(ByteBuffer buffer) {
    ByteBuffer copy = buffer.duplicate();
    byte[] out = new byte[copy.remaining()];
    copy.get(out);
    return out;
  }

  public Optional<Addon> find(String addonId) {
    return Optional.ofNullable(addons.find(eq("_id", addonId)).first()).filter(d -> d.getString("appName") != null).map(AddonCatalog::toAddon);
  }

  /** The app's addon, or empty if the addon does not exist or belongs to another app (the caller cannot tell which). */
  public Optional<Addon> findForApp(String appName, String addonId) {
    return find(addonId).filter(a -> a.appName().equals(appName));
  }

  public List<Addon> ofApp(String appName) {
    List<Addon> result = new ArrayList<>();
    addons.find(eq("appName", appName)).sort(Sorts.ascending("_id")).forEach(d -> result.add(toAddon(d)));
    return result;
  }

  public long revision(String addonId) {
    Document d = addons.find(eq("_id", addonId)).first();
    return d == null ? 0 : d.getLong("revision");
  }

  private static Addon toAddon(Document d) {
    return new Addon(d.getString("_id"), d.getString("appName"), d.getString("engine"), d.getString("plan"),
        d.getString("database"), d.getList("nodes", Document.class, List.of()), d.get("schedule", Document.class),
        d.getBoolean("removed", false), d.getLong("revision"));
  }
}
