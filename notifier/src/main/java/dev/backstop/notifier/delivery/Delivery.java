package dev.backstop.notifier.delivery;

import java.time.Instant;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * One message to one endpoint, from its first attempt to its last. Its id, endpoint and message, is what
 * makes delivery idempotent: a notification read again finds it and adds nothing.
 *
 * @param id {@code <endpointId>/<messageId>}
 * @param body the exact bytes sent (as UTF-8), the same for every attempt
 * @param attempts attempts made so far
 * @param nextAttemptAt when the next attempt is due, while {@code status} is PENDING
 * @param leaseUntil an instance attempting it holds it until then; another may take it over after
 */
public record Delivery(@BsonId String id, String endpointId, String appName, String messageId, String eventType,
    String body, Instant occurredAt, Status status, int attempts, Instant nextAttemptAt, Instant leaseUntil,
    Integer lastHttpStatus, String lastError, Instant lastAttemptAt) {

  public enum Status { PENDING, DELIVERED, GAVE_UP, CANCELLED }

  public static String idOf(String endpointId, String messageId) {
    return endpointId + "/" + messageId;
  }
}
