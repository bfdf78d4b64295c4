package dev.backstop.kit.messaging;

import dev.backstop.schemas.serde.EventSerializer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.support.MessageBuilder;

/**
 * Publishes Backstop events to their topic, keyed by addon id. Each call returns once the broker
 * acknowledged every event it was given, and throws if it did not, so callers write their own state
 * only after the events that explain it are on the record.
 */
public class EventPublisher implements AutoCloseable {

  /**
   * Compression of the batches {@link #publishAll} sends. gzip, because every common Kafka client reads
   * it without a plugin (kafkajs refuses LZ4 and Snappy batches unless a codec is installed, and one
   * such batch stops a Node subscriber on its partition); single events go uncompressed.
   */
  public static final String BATCH_COMPRESSION = "gzip";

  /** One event and the addon id it is keyed by. */
  public record Keyed(String addonId, SpecificRecord event) {}

  private final StreamBridge bridge;
  private final Supplier<String> bootstrapServers;
  private volatile KafkaProducer<String, SpecificRecord> batchProducer;

  public EventPublisher(StreamBridge bridge, Supplier<String> bootstrapServers) {
    this.bridge = bridge;
    this.bootstrapServers = bootstrapServers;
  }

  public void publish(String topic, String addonId, SpecificRecord event) {
    boolean sent =
        bridge.send(topic, MessageBuilder.withPayload(event).setHeader(KafkaHeaders.KEY, addonId).build());
    if (!sent) {
      throw new IllegalStateException("could not publish " + event.getClass().getSimpleName() + " to " + topic);
    }
  }

  /**
   * Publishes many events at once: all are sent, then waited for together, which costs about one
   * round trip instead of one per event. Same guarantee as {@link #publish}: on return every event is
   * acknowledged; on an exception some may be, and the caller repeats the whole call (consumers are
   * idempotent).
   */
  public void publishAll(String topic, List<Keyed> events) {
    if (events.isEmpty()) {
      return;
    }
    KafkaProducer<String, SpecificRecord> producer = batchProducer();
    List<Future<RecordMetadata>> sent = new ArrayList<>(events.size());
    for (Keyed keyed : events) {
      sent.add(producer.send(new ProducerRecord<>(topic, keyed.addonId(), keyed.event())));
    }
    producer.flush();
    for (Future<RecordMetadata> future : sent) {
      try {
        future.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("could not publish " + events.size() + " events to " + topic + ": " + e.getCause().getMessage(), e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while publishing to " + topic, e);
      }
    }
  }

  private KafkaProducer<String, SpecificRecord> batchProducer() {
    KafkaProducer<String, SpecificRecord> producer = batchProducer;
    if (producer == null) {
      synchronized (this) {
        if (batchProducer == null) {
          // the same guarantees as the binder's producers (backstop-kafka.yml): every replica, no duplicates on retry
          batchProducer = new KafkaProducer<>(Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers.get(),
              ProducerConfig.ACKS_CONFIG, "all",
              ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
              ProducerConfig.LINGER_MS_CONFIG, 5,
              ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024,
              ProducerConfig.COMPRESSION_TYPE_CONFIG, BATCH_COMPRESSION,
              ProducerConfig.CLIENT_ID_CONFIG, "backstop-batch-publisher"), new StringSerializer(), new EventSerializer());
        }
        producer = batchProducer;
      }
    }
    return producer;
  }

  @Override
  public void close() {
    if (batchProducer != null) {
      batchProducer.close();
    }
  }
}
