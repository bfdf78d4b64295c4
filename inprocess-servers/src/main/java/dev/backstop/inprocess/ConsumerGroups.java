package dev.backstop.inprocess;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;

/** Waits until consumer groups have every partition of their topics assigned: the services are listening. */
public final class ConsumerGroups {

  private ConsumerGroups() {}

  /** {@code partitionsPerGroup}: group id → how many partitions its consumers must hold between them. */
  public static void awaitAssigned(String bootstrapServers, Map<String, Integer> partitionsPerGroup, Duration timeout) {
    awaitAssigned(bootstrapServers, partitionsPerGroup, 1, timeout);
  }

  /**
   * As above, and each group has at least {@code members} consumers holding partitions: a service started
   * second may not have joined yet (it answers HTTP before its consumers' first poll), and until it does the
   * first one holds every partition in a stable group.
   */
  public static void awaitAssigned(String bootstrapServers, Map<String, Integer> partitionsPerGroup, int members,
      Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
      while (!assigned(admin, partitionsPerGroup, members)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("consumer groups " + partitionsPerGroup.keySet() + " not assigned within " + timeout);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
      }
    }
  }

  private static boolean assigned(Admin admin, Map<String, Integer> partitionsPerGroup, int members) {
    try {
      Map<String, ConsumerGroupDescription> groups = admin.describeConsumerGroups(List.copyOf(partitionsPerGroup.keySet())).all().get();
      for (var entry : partitionsPerGroup.entrySet()) {
        ConsumerGroupDescription group = groups.get(entry.getKey());
        int held = group.members().stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum();
        long holding = group.members().stream().filter(m -> !m.assignment().topicPartitions().isEmpty()).count();
        if (group.groupState() != GroupState.STABLE || held < entry.getValue() || holding < members) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }
}
