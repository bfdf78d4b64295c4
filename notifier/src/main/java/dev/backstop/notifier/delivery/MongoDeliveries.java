package dev.backstop.notifier.delivery;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lte;

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
import org.bson.conversions.Bson;

/** {@link Deliveries} in the {@code deliveries} collection. */
public class MongoDeliveries implements Deliveries {

  private final MongoCollection<Delivery> deliveries;

  public MongoDeliveries(MongoDatabase database) {
    this.deliveries = StoredRecords.collection(database, "deliveries", Delivery.class);
    deliveries.createIndex(Indexes.ascending("status", "nextAttemptAt"));
  }

  @Override
  public boolean addIfAbsent(Delivery delivery) {
    return StoredRecords.insertIfAbsent(deliveries, delivery);
  }

  @Override
  public List<Delivery> due(Instant now, int limit) {
    Date at = Date.from(now);
    return deliveries.find(and(eq("status", Delivery.Status.PENDING.name()), lte("nextAttemptAt", at), lte("leaseUntil", at)))
        .sort(Sorts.ascending("nextAttemptAt")).limit(limit).into(new ArrayList<>());
  }

  @Override
  public boolean lease(String id, int attempts, Instant now, Instant until) {
    Bson filter = ById.filter(id, eq("status", Delivery.Status.PENDING.name()), eq("attempts", attempts),
        lte("leaseUntil", Date.from(now)));
    return deliveries.updateOne(filter, Updates.set("leaseUntil", Date.from(until))).getModifiedCount() > 0;
  }

  @Override
  public void recordAttempt(String id, int attempt, Delivery.Status status, Instant at, Instant nextAttemptAt,
      Integer httpStatus, String error) {
    List<Bson> updates = new ArrayList<>(List.of(
        Updates.set("attempts", attempt),
        Updates.set("status", status.name()),
        Updates.set("lastAttemptAt", Date.from(at)),
        Updates.set("leaseUntil", Date.from(Instant.EPOCH)),
        httpStatus == null ? Updates.unset("lastHttpStatus") : Updates.set("lastHttpStatus", httpStatus),
        error == null ? Updates.unset("lastError") : Updates.set("lastError", error)));
    if (nextAttemptAt != null) {
      updates.add(Updates.set("nextAttemptAt", Date.from(nextAttemptAt)));
    }
    // only the attempt that held it counts: a runner that lost its lease and finished late changes nothing
    deliveries.updateOne(ById.filter(id, eq("attempts", attempt - 1)), Updates.combine(updates));
  }

  @Override
  public long forgetFinishedBefore(Instant before) {
    return deliveries.deleteMany(and(com.mongodb.client.model.Filters.ne("status", Delivery.Status.PENDING.name()),
        com.mongodb.client.model.Filters.lt("occurredAt", Date.from(before)))).getDeletedCount();
  }
}
