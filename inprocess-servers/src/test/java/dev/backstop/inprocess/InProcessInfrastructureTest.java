package dev.backstop.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClients;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.serde.EventDeserializer;
import dev.backstop.schemas.serde.EventSerializer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InProcessInfrastructureTest {

  @Test
  void broker_keeps_events_and_its_ports_across_a_restart_of_its_directory(@TempDir Path dir) throws Exception {
    BackupRequested event = new BackupRequested("b1", "addon-1", "app", BackupKind.MANUAL, Instant.parse("2026-11-21T10:00:00Z"), null, null, null);
    String firstAddress;
    try (InProcessKafka kafka = InProcessKafka.start(dir, 0, 0);
        var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
            new StringSerializer(), new EventSerializer())) {
      firstAddress = kafka.bootstrapServers();
      producer.send(new ProducerRecord<>("t", "addon-1", event)).get();
      assertThatThrownBy(() -> InProcessKafka.start(dir, 0, 0)).as("a second broker on the same directory")
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("another Backstop run on this data directory");
    }
    try (InProcessKafka kafka = InProcessKafka.start(dir, 0, 0);
        var consumer = new KafkaConsumer<>(Map.<String, Object>of(
            "bootstrap.servers", kafka.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG, "g",
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new EventDeserializer())) {
      assertThat(kafka.bootstrapServers()).isEqualTo(firstAddress);
      consumer.subscribe(List.of("t"));
      var records = consumer.poll(Duration.ofSeconds(20));
      assertThat(records.count()).isEqualTo(1);
      var record = records.iterator().next();
      assertThat(record.key()).isEqualTo("addon-1");
      assertThat(record.value()).isEqualTo(event);
    }
  }

  @Test
  void a_port_given_that_is_taken_is_refused_with_its_number(@TempDir Path dir) throws Exception {
    try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      assertThatThrownBy(() -> InProcessKafka.start(dir, taken.getLocalPort(), 0))
          .isInstanceOf(IllegalStateException.class).hasMessage("Kafka's port " + taken.getLocalPort() + " is taken");
    }
  }

  @Test
  void mongo_store_keeps_documents_in_its_file(@TempDir Path dir) {
    try (InProcessMongo mongo = InProcessMongo.persistent(dir, 0); var client = MongoClients.create(mongo.uri())) {
      client.getDatabase("d").getCollection("c").insertOne(new Document("_id", "x").append("v", 1));
    }
    assertThat(Files.exists(dir.resolve("backstop.mv"))).isTrue();
    try (InProcessMongo mongo = InProcessMongo.persistent(dir, 0); var client = MongoClients.create(mongo.uri())) {
      assertThat(client.getDatabase("d").getCollection("c").find().first()).containsEntry("v", 1);
    }
  }
}
