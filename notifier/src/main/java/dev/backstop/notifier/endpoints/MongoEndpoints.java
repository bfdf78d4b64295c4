package dev.backstop.notifier.endpoints;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;

/** {@link Endpoints} in this service's {@code endpoints} collection. */
public class MongoEndpoints implements Endpoints {

  private final MongoCollection<Endpoint> endpoints;

  public MongoEndpoints(MongoDatabase database) {
    this.endpoints = StoredRecords.collection(database, "endpoints", Endpoint.class);
    endpoints.createIndex(Indexes.ascending("appName"));
  }

  @Override
  public boolean register(Endpoint endpoint) {
    return StoredRecords.insertIfAbsent(endpoints, endpoint);
  }

  @Override
  public void markRemoved(String endpointId) {
    endpoints.updateOne(eq("_id", endpointId), Updates.set("state", Endpoint.State.REMOVED.name()));
  }

  @Override
  public void markDisabled(String endpointId) {
    endpoints.updateOne(ById.filter(endpointId, eq("state", Endpoint.State.ACTIVE.name())),
        Updates.set("state", Endpoint.State.DISABLED.name()));
  }

  @Override
  public Optional<Endpoint> find(String endpointId) {
    return Optional.ofNullable(endpoints.find(eq("_id", endpointId)).first());
  }

  @Override
  public List<Endpoint> activeOf(String appName) {
    return endpoints.find(and(eq("appName", appName), eq("state", Endpoint.State.ACTIVE.name()))).into(new ArrayList<>());
  }

  @Override
  public void recordSuccess(String endpointId) {
    endpoints.updateOne(ById.filter(endpointId, com.mongodb.client.model.Filters.gt("consecutiveFailures", 0)),
        Updates.combine(Updates.set("consecutiveFailures", 0), Updates.unset("failingSince"), Updates.unset("lastError")));
  }

  @Override
  public Optional<Endpoint> recordFailure(String endpointId, Instant at, String error) {
    Endpoint after = endpoints.findOneAndUpdate(eq("_id", endpointId),
        Updates.combine(Updates.inc("consecutiveFailures", 1), Updates.set("lastError", error)),
        new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER));
    if (after != null && after.failingSince() == null) {
      endpoints.updateOne(ById.filter(endpointId, eq("failingSince", null)), Updates.set("failingSince", Date.from(at)));
      after = endpoints.find(eq("_id", endpointId)).first();
    }
    return Optional.ofNullable(after);
  }

  @Override
  public boolean disable(String endpointId) {
    return endpoints.updateOne(ById.filter(endpointId, eq("state", Endpoint.State.ACTIVE.name())),
        Updates.set("state", Endpoint.State.DISABLED.name())).getModifiedCount() > 0;
  }
}
