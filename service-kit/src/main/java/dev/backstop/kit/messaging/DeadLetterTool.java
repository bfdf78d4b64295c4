package dev.backstop.kit.messaging;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * An operator's look at a dead-letter topic, and the way back from it. Packed in every service's jar:
 * <pre>
 * java -cp service.jar -Dloader.main=dev.backstop.kit.messaging.DeadLetterTool \
 *     org.springframework.boot.loader.launch.PropertiesLauncher list|redrive BOOTSTRAP_SERVERS DEAD_LETTER_TOPIC
 * </pre>
 * {@code list} prints each dead letter (where it came from, which group, why) and changes nothing.
 * {@code redrive} publishes each dead letter not re-driven yet back to its original topic, key and bytes as
 * they were, with a header {@code backstop_redriven_from} naming the dead letter; every group on that topic
 * reads it again (consumers are idempotent: those that had handled it change nothing), and a consumer that
 * still cannot handle it dead-letters it again. What was re-driven is remembered by the consumer group
 * {@code backstop-redrive.<dead-letter topic>}, committed after each record is acknowledged: running it
 * again re-drives only what arrived since.
 */
public final class DeadLetterTool {

  /** Header a re-driven record carries: {@code <dead-letter topic>-<partition>@<offset>}. */
  public static final String REDRIVEN_FROM = "backstop_redriven_from";

  private static final Duration QUIET = Duration.ofSeconds(2);

  private DeadLetterTool() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; the exit status: 0 done, 1 failed, 2 wrong usage. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length != 3 || !List.of("list", "redrive").contains(args[0]) || !args[2].startsWith("error.")) {
      err.println("usage: DeadLetterTool list|redrive BOOTSTRAP_SERVERS error.<topic>.<group>");
      return 2;
    }
    try {
      int count = args[0].equals("list") ? list(args[1], args[2], out) : redrive(args[1], args[2], out);
      out.println(count + " dead letter(s) " + (args[0].equals("list") ? "on " : "re-driven from ") + args[2]);
      return 0;
    } catch (RuntimeException | ExecutionException e) {
      err.println(args[0] + " failed: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println(args[0] + " interrupted");
      return 1;
    }
  }

  private static int list(String servers, String topic, PrintStream out) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(servers, null)) {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<ConsumerRecord<byte[], byte[]>> letters = readToEnd(consumer, partitions);
      letters.forEach(letter -> out.println(describe(letter)));
      return letters.size();
    }
  }

  private static int redrive(String servers, String topic, PrintStream out) throws ExecutionException, InterruptedException {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(servers, "backstop-redrive." + topic);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers,
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true), new ByteArraySerializer(), new ByteArraySerializer())) {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      int count = 0;
      for (ConsumerRecord<byte[], byte[]> letter : readToEnd(consumer, partitions)) {
        String original = text(letter, "kafka_dlt-original-topic");
        if (original == null) {
          throw new IllegalStateException(topic + "-" + letter.partition() + "@" + letter.offset()
              + " has no kafka_dlt-original-topic header: not a dead letter");
        }
        RecordHeaders headers = new RecordHeaders();
        for (Header header : letter.headers()) {
          // the dead letter's own headers describe its failure, not the record
          if (!header.key().startsWith("kafka_dlt-")) {
            headers.add(header);
          }
        }
        headers.add(REDRIVEN_FROM, (topic + "-" + letter.partition() + "@" + letter.offset()).getBytes(StandardCharsets.UTF_8));
        var sent = producer.send(new ProducerRecord<>(original, null, letter.key(), letter.value(), headers)).get();
        consumer.commitSync(Map.of(new TopicPartition(topic, letter.partition()), new OffsetAndMetadata(letter.offset() + 1)));
        out.println("re-driven " + describe(letter) + " -> " + sent.topic() + "-" + sent.partition() + "@" + sent.offset());
        count++;
      }
      return count;
    }
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String servers, String group) {
    Map<String, Object> settings = new HashMap<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
    if (group != null) {
      settings.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    }
    return new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
    var infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("no topic " + topic);
    }
    return infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
  }

  /** Every record up to the end offsets as they are now, in offset order per partition. */
  private static List<ConsumerRecord<byte[], byte[]>> readToEnd(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
    Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
    long quietSince = System.nanoTime();
    while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
      var records = consumer.poll(Duration.ofMillis(200));
      records.forEach(all::add);
      if (!records.isEmpty()) {
        quietSince = System.nanoTime();
      } else if (System.nanoTime() - quietSince > QUIET.multipliedBy(5).toNanos()) {
        throw new IllegalStateException("the dead-letter topic stopped answering before its end");
      }
    }
    all.sort(java.util.Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
        .thenComparingLong(ConsumerRecord::offset));
    return all;
  }

  private static String describe(ConsumerRecord<byte[], byte[]> letter) {
    String key = letter.key() == null ? "" : new String(letter.key(), StandardCharsets.UTF_8);
    return letter.topic() + "-" + letter.partition() + "@" + letter.offset()
        + " from " + text(letter, "kafka_dlt-original-topic") + "-" + integer(letter, "kafka_dlt-original-partition")
        + "@" + number(letter, "kafka_dlt-original-offset")
        + " group " + text(letter, "kafka_dlt-original-consumer-group")
        + " key " + key
        + " (" + (letter.value() == null ? 0 : letter.value().length) + " bytes): "
        + text(letter, "kafka_dlt-exception-fqcn") + ": " + text(letter, "kafka_dlt-exception-message");
  }

  private static String text(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  private static Integer integer(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null || header.value().length != Integer.BYTES ? null : ByteBuffer.wrap(header.value()).getInt();
  }

  private static Long number(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null || header.value().length != Long.BYTES ? null : ByteBuffer.wrap(header.value()).getLong();
  }
}
