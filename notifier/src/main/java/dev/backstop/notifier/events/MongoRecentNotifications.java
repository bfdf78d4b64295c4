package dev.backstop.notifier.events;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.gte;
import static com.mongodb.client.model.Filters.lt;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/** {@link RecentNotifications} in the {@code notifications} collection. */
public class MongoRecentNotifications implements RecentNotifications {

  private final MongoCollection<Notification> notifications;

  public MongoRecentNotifications(MongoDatabase database) {
    this.notifications = StoredRecords.collection(database, "notifications", Notification.class);
    notifications.createIndex(Indexes.ascending("appName", "occurredAt"));
  }

  @Override
  public boolean keep(Notification notification) {
    return StoredRecords.insertIfAbsent(notifications, notification);
  }

  @Override
  public List<Notification> ofAppSince(String appName, Instant since) {
    return notifications.find(and(eq("appName", appName), gte("occurredAt", Date.from(since))))
        .sort(Sorts.ascending("occurredAt")).into(new ArrayList<>());
  }

  @Override
  public long forgetBefore(Instant before) {
    return notifications.deleteMany(lt("occurredAt", Date.from(before))).getDeletedCount();
  }
}
