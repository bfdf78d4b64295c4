package dev.backstop.walarchiver;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * This service's view of {@code backstop.addons} ({@code wal_addons}): the latest revision of each addon,
 * kept as its Avro spec (the password stays sealed at rest). An addon is streamed when it is PostgreSQL on
 * Starter or Business: from the secondary on Business, from the primary on Starter, and from the primary
 * with a reason when a Business addon lists no secondary.
 */
final class AddonsProjection implements StreamSupervisor.Eligible {

  private final MongoCollection<Document> addons;
  private final SecretSealer sealer;

  AddonsProjection(MongoDatabase database, SecretSealer sealer) {
    this.addons = database.getCollection("wal_addons");
    this.sealer = sealer;
  }

  /** Applies a registration or change; an older or repeated revision changes nothing. */
  void apply(AddonSpec spec, long revision) {
    try {
      ByteBuffer bytes = spec.toByteBuffer();
      byte[] array = new byte[bytes.remaining()];
      bytes.get(array);
      replaceIfNewer(spec.getAddonId(), revision, new Document("spec", new Binary(array)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void remove(String addonId, long revision) {
    replaceIfNewer(addonId, revision, new Document("removed", true));
  }

  private void replaceIfNewer(String addonId, long revision, Document state) {
    Document doc = new Document("_id", addonId).append("revision", revision);
    doc.putAll(state);
    Document current = addons.find(Filters.eq("_id", addonId)).first();
    if (current != null && current.get("revision", Number.class).longValue() >= revision) {
      return;
    }
    // the revision guard in the filter keeps a concurrent older write from winning
    if (current == null) {
      try {
        addons.insertOne(doc);
      } catch (com.mongodb.MongoWriteException raced) {
        replaceIfNewer(addonId, revision, state);
      }
    } else {
      addons.replaceOne(Filters.and(Filters.eq("_id", addonId), Filters.lt("revision", revision)), doc,
          new ReplaceOptions());
    }
  }

  /** Whether an addon has point-in-time recovery: {@code known} false when this service never heard of it. */
  record Offer(boolean known, String unavailableReason) {}

  /** Whether point-in-time recovery is offered to the addon, and why not when it is not. */
  Offer offer(String addonId) {
    Document doc = addons.find(Filters.eq("_id", addonId)).first();
    if (doc == null) {
      return new Offer(false, null);
    }
    if (doc.getBoolean("removed", false)) {
      return new Offer(true, "the addon was removed");
    }
    AddonSpec spec = spec(doc);
    if (spec.getEngine() != Engine.POSTGRESQL) {
      return new Offer(true, "point-in-time recovery is offered for PostgreSQL only");
    }
    if (spec.getPlan() == Plan.SANDBOX) {
      return new Offer(true, "the Sandbox plan has no point-in-time recovery (Starter and Business have)");
    }
    return new Offer(true, null);
  }

  @Override
  public List<StreamTarget> targets() {
    List<StreamTarget> targets = new ArrayList<>();
    for (Document doc : addons.find(Filters.ne("removed", true))) {
      AddonSpec spec = spec(doc);
      target(spec).ifPresent(targets::add);
    }
    return targets;
  }

  static Optional<StreamTarget> target(AddonSpec spec, SecretSealer sealer) {
    if (spec.getEngine() != Engine.POSTGRESQL || spec.getPlan() == Plan.SANDBOX) {
      return Optional.empty();
    }
    DatabaseNode primary = node(spec, NodeRole.PRIMARY);
    DatabaseNode secondary = node(spec, NodeRole.SECONDARY);
    DatabaseNode chosen;
    String reason;
    if (spec.getPlan() == Plan.BUSINESS && secondary != null) {
      chosen = secondary;
      reason = "Business: the secondary";
    } else if (spec.getPlan() == Plan.BUSINESS) {
      chosen = primary;
      reason = "Business, but no secondary is listed: the primary";
    } else {
      chosen = primary;
      reason = "Starter: the primary";
    }
    if (chosen == null) {
      return Optional.empty();
    }
    DatabaseNode probed = primary != null ? primary : chosen;
    List<StreamTarget.Node> others = spec.getNodes().stream().filter(n -> n != chosen)
        .map(n -> new StreamTarget.Node(n.getHost(), n.getPort())).toList();
    return Optional.of(new StreamTarget(spec.getAddonId(), spec.getAppName(), chosen.getHost(), chosen.getPort(),
        probed.getHost(), probed.getPort(), others, spec.getUser(), sealer.open(spec.getAddonId(), spec.getPassword()),
        reason));
  }

  private Optional<StreamTarget> target(AddonSpec spec) {
    return target(spec, sealer);
  }

  private static DatabaseNode node(AddonSpec spec, NodeRole role) {
    return spec.getNodes().stream().filter(n -> n.getRole() == role).findFirst().orElse(null);
  }

  private static AddonSpec spec(Document doc) {
    try {
      return AddonSpec.fromByteBuffer(ByteBuffer.wrap(doc.get("spec", Binary.class).getData()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
