package dev.backstop.worker.messaging;

import dev.backstop.worker.job.OutcomesRead;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far a consumer group has read a topic, asked of the broker: the latest instant before which
 * everything published on the topic is committed by the group (its handler has run on it).
 *
 * <p>Each check reads the group's committed offsets, then the topic's end offsets and the time (a
 * mark). Committed offsets at or past the end offsets of an earlier mark prove everything published
 * before that mark read; at or past the end offsets just read, everything published before now. So a
 * busy topic, whose lag is rarely zero, still moves forward by a mark per check. Checks are at least
 * {@code minInterval} apart (elapsed time, whatever the clock); a broker that does not answer keeps the
 * last known instant.
 */
public final class ConsumerProgress implements OutcomesRead, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ConsumerProgress.class);
  private static final long TIMEOUT_SECONDS = 5;

  private record Mark(Instant at, Map<TopicPartition, Long> ends) {}

  private final Admin admin;
  private final String group;
  private final String topic;
  private final Clock clock;
  private final Duration minInterval;
  private Instant readUpTo;
  private Mark mark;
  private boolean checked;
  private long lastCheck;
  private boolean failing;

  public ConsumerProgress(String bootstrapServers, String group, String topic, Clock clock, Duration minInterval) {
    this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.CLIENT_ID_CONFIG, "backstop-progress-" + group));
    this.group = group;
    this.topic = topic;
    this.clock = clock;
    this.minInterval = minInterval;
  }

  @Override
  public synchronized Instant readUpTo() {
    long now = System.nanoTime();
    if (checked && now - lastCheck < minInterval.toNanos()) {
      return readUpTo;
    }
    checked = true;
    lastCheck = now;
    try {
      Map<TopicPartition, Long> committed = committed();
      if (mark != null && covers(committed, mark.ends())) {
        advance(mark.at());
      }
      Instant at = clock.instant();
      Map<TopicPartition, Long> ends = ends();
      mark = new Mark(at, ends);
      if (covers(committed, ends)) {
        advance(at);
      } else if (covers(committed(), ends)) {
        advance(at);
      }
      if (failing) {
        log.info("reading the progress of group {} on {} again", group, topic);
        failing = false;
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (!failing) {
        log.warn("cannot read the progress of group {} on {} (jobs recorded since wait): {}", group, topic, e.toString());
        failing = true;
      }
    }
    return readUpTo;
  }

  private void advance(Instant to) {
    if (readUpTo == null || to.isAfter(readUpTo)) {
      readUpTo = to;
    }
  }

  private static boolean covers(Map<TopicPartition, Long> committed, Map<TopicPartition, Long> ends) {
    return ends.entrySet().stream().allMatch(end -> end.getValue() == 0 || committed.getOrDefault(end.getKey(), -1L) >= end.getValue());
  }

  private Map<TopicPartition, Long> committed() throws Exception {
    Map<TopicPartition, Long> offsets = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> read = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
        .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    read.forEach((partition, offset) -> {
      if (offset != null && partition.topic().equals(topic)) {
        offsets.put(partition, offset.offset());
      }
    });
    return offsets;
  }

  private Map<TopicPartition, Long> ends() throws Exception {
    List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .get(topic).partitions().stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    partitions.forEach(p -> latest.put(p, OffsetSpec.latest()));
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> info = admin.listOffsets(latest).all()
        .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    Map<TopicPartition, Long> ends = new HashMap<>();
    info.forEach((partition, result) -> ends.put(partition, result.offset()));
    return ends;
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(2));
  }
}
