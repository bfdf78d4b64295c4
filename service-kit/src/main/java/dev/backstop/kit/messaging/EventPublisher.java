package dev.backstop.kit.messaging;

import org.apache.avro.specific.SpecificRecord;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.support.MessageBuilder;

/**
 * Publishes a Backstop event to its topic, keyed by addon id. Returns once the broker acknowledged
 * it (the binder's producers are synchronous), and throws if it did not.
 */
public class EventPublisher {

  private final StreamBridge bridge;

  public EventPublisher(StreamBridge bridge) {
    this.bridge = bridge;
  }

  public void publish(String topic, String addonId, SpecificRecord event) {
    boolean sent =
        bridge.send(topic, MessageBuilder.withPayload(event).setHeader(KafkaHeaders.KEY, addonId).build());
    if (!sent) {
      throw new IllegalStateException("could not publish " + event.getClass().getSimpleName() + " to " + topic);
    }
  }
}
