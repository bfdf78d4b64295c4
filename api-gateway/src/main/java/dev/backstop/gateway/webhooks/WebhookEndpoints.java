package dev.backstop.gateway.webhooks;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * The gateway's copy of the apps' webhook endpoints, kept from {@code backstop.webhooks} (and written
 * at once when this gateway registers or removes one, so that a list right after sees it). No secret
 * is kept: it is shown once, when registered, and travels only sealed, to the notifier.
 */
@Component
public class WebhookEndpoints {

  /**
   * @param disabledAt when the notifier stopped delivering after a run of failures; null while enabled
   * @param disabledReason the last error of that run
   */
  public record Endpoint(@BsonId String id, String appName, String url, List<String> events, Instant createdAt,
      boolean removed, Instant disabledAt, String disabledReason) {}

  private final MongoCollection<Endpoint> endpoints;

  public WebhookEndpoints(MongoDatabase database) {
    this.endpoints = StoredRecords.collection(database, "webhooks", Endpoint.class);
    endpoints.createIndex(Indexes.ascending("appName"));
  }

  /** Stores a registration; false if known already (this gateway wrote it, or a replay). */
  public boolean add(Endpoint endpoint) {
    return StoredRecords.insertIfAbsent(endpoints, endpoint);
  }

  public void markRemoved(String id) {
    endpoints.updateOne(eq("_id", id), Updates.set("removed", true));
  }

  public void markDisabled(String id, Instant at, String reason) {
    endpoints.updateOne(ById.filter(id, eq("removed", false)), Updates.combine(Updates.set("disabledAt", Date.from(at)),
        reason == null ? Updates.unset("disabledReason") : Updates.set("disabledReason", reason)));
  }

  /** The app's endpoints, oldest first; removed ones are left out. */
  public List<Endpoint> ofApp(String appName) {
    return endpoints.find(and(eq("appName", appName), eq("removed", false))).sort(Sorts.ascending("createdAt"))
        .into(new ArrayList<>());
  }

  public Optional<Endpoint> find(String appName, String id) {
    return Optional.ofNullable(endpoints.find(ById.filter(id, eq("appName", appName), eq("removed", false))).first());
  }
}
