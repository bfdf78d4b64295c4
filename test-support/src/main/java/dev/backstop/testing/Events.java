package dev.backstop.testing;

import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import dev.backstop.schemas.serde.EventDeserializer;
import dev.backstop.schemas.serde.EventSerializer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Builders for events and small helpers to publish and read them on a real broker. */
public final class Events {

  private Events() {}

  /** A PostgreSQL addon with one primary and a placeholder sealed password (for services that never open it). */
  public static AddonSpec addon(String addonId, String appName, Plan plan, int hour, String zone) {
    return new AddonSpec(addonId, appName, Engine.POSTGRESQL, plan, "db_" + addonId.replace('-', '_'), "user",
        new SealedSecret("test", ByteBuffer.wrap(new byte[] {1, 2, 3})),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", 5432)), new BackupSchedule(true, hour, zone));
  }

  public static AddonRegistered registered(AddonSpec addon, Instant at) {
    return new AddonRegistered(UUID.randomUUID().toString(), 1L, at, addon);
  }

  /** Publishes events keyed by the given key function, waiting for the broker's acknowledgement of each. */
  public static void publish(String bootstrapServers, String topic, List<? extends SpecificRecord> events,
      java.util.function.Function<SpecificRecord, String> key) {
    try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", bootstrapServers),
        new StringSerializer(), new EventSerializer())) {
      for (SpecificRecord event : events) {
        producer.send(new ProducerRecord<>(topic, key.apply(event), event)).get();
      }
    } catch (Exception e) {
      throw new IllegalStateException("could not publish to " + topic, e);
    }
  }

  /**
   * Every event a topic holds when the call begins, from offset 0 to each partition's end offset then; none when the
   * topic does not exist yet. Joins no consumer group and waits for no quiet spell, so a test polling for an outcome
   * reads the topic in a few milliseconds; events written during the call may or may not be included.
   */
  public static List<SpecificRecord> readToEnd(String bootstrapServers, String topic) {
    try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new StringDeserializer(), new EventDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      List<SpecificRecord> all = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end offsets " + ends + " within 30 s");
        }
        consumer.poll(Duration.ofMillis(100)).forEach(r -> all.add(r.value()));
      }
      return all;
    }
  }

  /** Every event on a topic from offset 0, read until the topic has been quiet for {@code quiet}. */
  public static List<SpecificRecord> readAll(String bootstrapServers, String topic, Duration quiet) {
    try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new EventDeserializer())) {
      consumer.subscribe(List.of(topic));
      List<SpecificRecord> all = new ArrayList<>();
      long quietSince = System.nanoTime();
      while (System.nanoTime() - quietSince < quiet.toNanos()) {
        var records = consumer.poll(Duration.ofMillis(200));
        records.forEach(r -> all.add(r.value()));
        if (!records.isEmpty()) {
          quietSince = System.nanoTime();
        }
      }
      return all;
    }
  }
}
