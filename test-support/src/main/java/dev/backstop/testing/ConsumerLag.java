package dev.backstop.testing;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/** Waits until consumer groups have committed the end of topics: "every consumer has caught up". */
public final class ConsumerLag {

  private ConsumerLag() {}

  public static void awaitCaughtUp(String bootstrapServers, List<String> groups, List<String> topics, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
      while (!caughtUp(admin, groups, topics)) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("consumer groups " + groups + " did not catch up with " + topics + " within " + timeout);
        }
        Thread.onSpinWait();
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
      }
    }
  }

  private static boolean caughtUp(Admin admin, List<String> groups, List<String> topics) {
    try {
      List<TopicPartition> partitions = admin.describeTopics(topics).allTopicNames().get().values().stream()
          .flatMap(t -> t.partitions().stream().map(p -> new TopicPartition(t.name(), p.partition())))
          .toList();
      var ends = admin.listOffsets(partitions.stream().collect(Collectors.toMap(p -> p, p -> OffsetSpec.latest()))).all().get();
      for (String group : groups) {
        var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        for (TopicPartition partition : partitions) {
          long end = ends.get(partition).offset();
          var offset = committed.get(partition);
          if (end > 0 && (offset == null || offset.offset() < end)) {
            return false;
          }
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }
}
