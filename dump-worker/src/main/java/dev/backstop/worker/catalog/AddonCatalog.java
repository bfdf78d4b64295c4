package dev.backstop.worker.catalog;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.AddonProjection;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.bson.types.Binary;
import org.springframework.stereotype.Component;

/**
 * What the worker knows of each addon: engine, plan, nodes and the sealed password (stored sealed,
 * opened only for the duration of a dump).
 */
@Component
public class AddonCatalog implements AddonProjection {

  private final MongoCollection<Document> addons;

  public AddonCatalog(MongoDatabase database) {
    this.addons = database.getCollection("addons");
  }

  /** An addon as the worker needs it. {@code removed} addons get no new backups. */
  public record Addon(String addonId, String appName, Engine engine, Plan plan, String database, String user,
      SealedSecret password, List<DatabaseNode> nodes, boolean removed) {}

  @Override
  public boolean upsert(AddonSpec spec, long revision) {
    Document state = new Document("appName", spec.getAppName())
        .append("engine", spec.getEngine().name())
        .append("plan", spec.getPlan().name())
        .append("database", spec.getDatabase())
        .append("user", spec.getUser())
        .append("passwordKeyId", spec.getPassword().getKeyId())
        .append("passwordSealed", new Binary(bytes(spec.getPassword().getCiphertext())))
        .append("nodes", spec.getNodes().stream()
            .map(n -> new Document("role", n.getRole().name()).append("host", n.getHost()).append("port", n.getPort()))
            .toList())
        .append("removed", false);
    return RevisionGuard.applyIfNewer(addons, spec.getAddonId(), revision, Updates.set("state", state));
  }

  @Override
  public boolean markRemoved(String addonId, long revision) {
    return RevisionGuard.applyIfNewer(addons, addonId, revision, Updates.set("state.removed", true));
  }

  public Optional<Addon> find(String addonId) {
    Document doc = addons.find(eq("_id", addonId)).first();
    if (doc == null || doc.get("state", Document.class).getString("engine") == null) {
      return Optional.empty();
    }
    Document s = doc.get("state", Document.class);
    List<DatabaseNode> nodes = s.getList("nodes", Document.class).stream()
        .map(n -> new DatabaseNode(NodeRole.valueOf(n.getString("role")), n.getString("host"), n.getInteger("port")))
        .toList();
    return Optional.of(new Addon(addonId, s.getString("appName"), Engine.valueOf(s.getString("engine")),
        Plan.valueOf(s.getString("plan")), s.getString("database"), s.getString("user"),
        new SealedSecret(s.getString("passwordKeyId"), ByteBuffer.wrap(s.get("passwordSealed", Binary.class).getData())),
        nodes, s.getBoolean("removed", false)));
  }

  private static byte[] bytes(ByteBuffer buffer) {
    ByteBuffer copy = buffer.duplicate();
    byte[] out = new byte[copy.remaining()];
    copy.get(out);
    return out;
  }
}
