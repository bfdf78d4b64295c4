package dev.backstop.retention.messaging;

import dev.backstop.retention.catalog.RetentionLedger;
import dev.backstop.retention.pruning.AddonOwnership;
import dev.backstop.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.springframework.cloud.stream.binder.kafka.KafkaBindingRebalanceListener;
import org.springframework.stereotype.Component;

/**
 * Which addons this instance owns: those whose events land in the partitions of
 * {@code backstop.backup-events} it reads. Their retention records are this instance's alone to change;
 * when partitions move, pending changes are flushed (and their offsets committed) before they go.
 */
@Component
public class PartitionOwnership implements KafkaBindingRebalanceListener, AddonOwnership {

  static final String BINDING = "backupEvents-in-0";

  private final RetentionLedger ledger;
  private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
  private volatile int partitionCount;

  public PartitionOwnership(RetentionLedger ledger) {
    this.ledger = ledger;
  }

  /** Whether the addon's events are read here; the same hash Kafka's default partitioner uses for the key. */
  public boolean owns(String addonId) {
    int count = partitionCount;
    return count > 0 && owned.contains(Utils.toPositive(Utils.murmur2(addonId.getBytes(StandardCharsets.UTF_8))) % count);
  }

  @Override
  public void onPartitionsAssigned(String bindingName, Consumer<?, ?> consumer, Collection<TopicPartition> partitions, boolean initial) {
    if (BINDING.equals(bindingName)) {
      partitionCount = consumer.partitionsFor(Topics.BACKUP_EVENTS).size();
      partitions.stream().filter(p -> p.topic().equals(Topics.BACKUP_EVENTS)).forEach(p -> owned.add(p.partition()));
    }
  }

  @Override
  public void onPartitionsRevokedBeforeCommit(String bindingName, Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    if (BINDING.equals(bindingName)) {
      partitions.forEach(p -> owned.remove(p.partition()));
      // the acknowledgements this flush releases are committed right after, before the partitions go
      ledger.forgetCached();
    }
  }
}
