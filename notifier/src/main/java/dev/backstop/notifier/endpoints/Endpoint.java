package dev.backstop.notifier.endpoints;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * A webhook endpoint as the notifier keeps it, from {@code backstop.webhooks}. The signing secret stays
 * sealed (as the gateway sealed it, the endpoint id as associated data) and is opened for each attempt.
 *
 * @param consecutiveFailures failed attempts in a row, 0 after any success
 * @param failingSince the first failure of that run; null while the endpoint answers
 */
public record Endpoint(@BsonId String id, String appName, String url, List<String> eventTypes, String secretKeyId,
    byte[] secretCiphertext, Instant registeredAt, State state, int consecutiveFailures, Instant failingSince,
    String lastError) {

  public enum State { ACTIVE, DISABLED, REMOVED }

  public boolean wants(String eventType) {
    return state == State.ACTIVE && eventTypes.contains(eventType);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Endpoint e && id.equals(e.id) && appName.equals(e.appName) && url.equals(e.url)
        && eventTypes.equals(e.eventTypes) && secretKeyId.equals(e.secretKeyId) && Arrays.equals(secretCiphertext, e.secretCiphertext)
        && registeredAt.equals(e.registeredAt) && state == e.state && consecutiveFailures == e.consecutiveFailures
        && java.util.Objects.equals(failingSince, e.failingSince) && java.util.Objects.equals(lastError, e.lastError);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    // the sealed secret stays out of logs, sealed or not
    return "Endpoint[id=" + id + ", app=" + appName + ", state=" + state + ", events=" + eventTypes + "]";
  }
}
