package dev.backstop.gateway.webhooks;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import org.bson.Document;
import org.springframework.stereotype.Component;

/**
 * Each endpoint's deliveries as the notifier reports them on {@code backstop.webhook-deliveries}: one
 * entry per message, holding its latest attempt. An attempt applies only if it is later than the one
 * stored (the attempt number is the entry's revision), so redeliveries and replays change nothing.
 */
@Component
public class WebhookDeliveryLog {

  /** One message's delivery, as the API shows it. */
  public record Entry(String messageId, String event, String status, int attempts, Integer httpStatus, String lastError,
      Instant lastAttemptAt, Instant nextAttemptAt) {}

  private final MongoCollection<Document> entries;

  public WebhookDeliveryLog(MongoDatabase database) {
    this.entries = database.getCollection("webhook_deliveries");
    entries.createIndex(Indexes.ascending("endpointId", "lastAttemptAt"));
  }

  public void record(WebhookDeliveryAttempted e) {
    RevisionGuard.applyIfNewer(entries, e.getEndpointId() + "/" + e.getMessageId(), e.getAttempt(), Updates.combine(
        Updates.set("endpointId", e.getEndpointId()),
        Updates.set("appName", e.getAppName()),
        Updates.set("messageId", e.getMessageId()),
        Updates.set("event", e.getEventType()),
        Updates.set("status", e.getOutcome().name().toLowerCase(Locale.ROOT).replace('_', '-')),
        Updates.set("attempts", e.getAttempt()),
        e.getHttpStatus() == null ? Updates.unset("httpStatus") : Updates.set("httpStatus", e.getHttpStatus()),
        e.getError() == null ? Updates.unset("lastError") : Updates.set("lastError", e.getError()),
        Updates.set("lastAttemptAt", Date.from(e.getAttemptedAt())),
        e.getNextAttemptAt() == null ? Updates.unset("nextAttemptAt") : Updates.set("nextAttemptAt", Date.from(e.getNextAttemptAt()))));
  }

  /** The endpoint's most recent deliveries, newest first. */
  public List<Entry> of(String endpointId, int limit) {
    List<Entry> found = new ArrayList<>();
    for (Document d : entries.find(eq("endpointId", endpointId)).sort(Sorts.descending("lastAttemptAt")).limit(limit)) {
      found.add(new Entry(d.getString("messageId"), d.getString("event"), d.getString("status"), d.getInteger("attempts", 0),
          d.getInteger("httpStatus"), d.getString("lastError"), instant(d.getDate("lastAttemptAt")),
          instant(d.getDate("nextAttemptAt"))));
    }
    return found;
  }

  private static Instant instant(Date date) {
    return date == null ? null : date.toInstant();
  }
}
