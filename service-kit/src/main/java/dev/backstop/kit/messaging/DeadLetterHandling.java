package dev.backstop.kit.messaging;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.stream.binder.ExtendedConsumerProperties;
import org.springframework.cloud.stream.binder.kafka.ListenerContainerWithDlqAndRetryCustomizer;
import org.springframework.cloud.stream.binder.kafka.properties.KafkaConsumerProperties;
import org.springframework.cloud.stream.config.ListenerContainerCustomizer;
import org.springframework.core.log.LogAccessor;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.BatchInterceptor;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.kafka.support.serializer.SerializationUtils;
import org.springframework.util.backoff.BackOff;
import org.springframework.util.backoff.ExponentialBackOff;
import org.springframework.util.backoff.FixedBackOff;

/**
 * The error handling of every binder consumer of a Backstop service, in place of the binder's (whose
 * retries end by skipping the record, and whose DLQ cannot tell a broken record from a store that is down):
 * <ul>
 *   <li>a record consumer hands a record it cannot decode, or whose handling failed permanently once the
 *       binding's {@code max-attempts} are used, to {@link DeadLetters}, and goes on;</li>
 *   <li>a failure of what it depends on is tried again with a backoff of {@link #TRANSIENT_FIRST} doubling
 *       to {@link #TRANSIENT_MAX}, without end: the partition waits, the offset is not committed, nothing is
 *       skipped;</li>
 *   <li>a batch consumer (retention's outcomes) gets its undecodable records dead-lettered before it sees
 *       the batch, where they stay as {@code null} payloads that handlers ignore, so the batch's
 *       acknowledgement still covers them; a batch whose handling fails is tried again whole, without end
 *       (its handler may acknowledge only once its effect is stored, so no part of it is committed early).</li>
 * </ul>
 * It also applies every other {@link ListenerContainerCustomizer} the service declares: the binder takes
 * a single one, this.
 */
public final class DeadLetterHandling implements ListenerContainerWithDlqAndRetryCustomizer {

  /** First wait before a record that failed for a transient reason is tried again. */
  public static final Duration TRANSIENT_FIRST = Duration.ofSeconds(1);

  /** Longest wait between two tries of a record that failed for a transient reason. */
  public static final Duration TRANSIENT_MAX = Duration.ofSeconds(30);

  private static final LogAccessor LOG = new LogAccessor(DeadLetterHandling.class);

  private final DeadLetters deadLetters;
  private final ObjectProvider<ListenerContainerCustomizer<?>> others;

  public DeadLetterHandling(DeadLetters deadLetters, ObjectProvider<ListenerContainerCustomizer<?>> others) {
    this.deadLetters = deadLetters;
    this.others = others;
  }

  @Override
  public boolean retryAndDlqInBinding(String destinationName, String group) {
    return false;
  }

  @Override
  public void configure(AbstractMessageListenerContainer<?, ?> container, String destinationName, String group,
      BiFunction<ConsumerRecord<?, ?>, Exception, TopicPartition> dlqDestinationResolver, BackOff backOff) {
    configure(container, destinationName, group, dlqDestinationResolver, backOff, null);
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public void configure(AbstractMessageListenerContainer<?, ?> container, String destinationName, String group,
      BiFunction<ConsumerRecord<?, ?>, Exception, TopicPartition> dlqDestinationResolver, BackOff backOff,
      ExtendedConsumerProperties<KafkaConsumerProperties> properties) {
    boolean batch = properties != null && properties.isBatchMode();
    if (batch) {
      ((AbstractMessageListenerContainer) container).setBatchInterceptor(new UndecodableOut<>(deadLetters, group));
      container.setCommonErrorHandler(new DefaultErrorHandler(transientBackOff()));
    } else {
      // the binding's own attempts (max-attempts, back-off-*) for a permanent failure; none past the first at 1
      DefaultErrorHandler handler = new DefaultErrorHandler(
          (org.springframework.kafka.listener.ConsumerAwareRecordRecoverer)
              (record, consumer, failure) -> deadLetters.send(record, consumer, group, failure),
          backOff != null ? backOff : new FixedBackOff(0, 0));
      handler.setBackOffFunction((record, failure) -> switch (DeadLetters.classify(failure)) {
        case TRANSIENT, STOPPING -> transientBackOff();
        case UNDECODABLE, PERMANENT -> null;
      });
      // a record that failed for want of the store is committed only once handled; one that went to the
      // dead-letter topic is committed at once
      handler.setCommitRecovered(true);
      container.setCommonErrorHandler(handler);
    }
    for (ListenerContainerCustomizer<?> other : others()) {
      ((ListenerContainerCustomizer<AbstractMessageListenerContainer<?, ?>>) other).configure(container, destinationName, group);
    }
  }

  private List<ListenerContainerCustomizer<?>> others() {
    List<ListenerContainerCustomizer<?>> list = new ArrayList<>();
    others.orderedStream().filter(c -> c != this).forEach(list::add);
    return list;
  }

  private static BackOff transientBackOff() {
    ExponentialBackOff backOff = new ExponentialBackOff(TRANSIENT_FIRST.toMillis(), 2.0);
    backOff.setMaxInterval(TRANSIENT_MAX.toMillis());
    return backOff;
  }

  /** Dead-letters the undecodable records of a batch and hands the batch on as it was. */
  static final class UndecodableOut<K, V> implements BatchInterceptor<K, V> {
    private final DeadLetters deadLetters;
    private final String group;
    /** What this consumer already dead-lettered: a batch tried again (a store down) does not send them again. */
    // shared by the container's consumers when the binding's concurrency is above 1
    private final java.util.Set<String> sent = java.util.Collections.synchronizedSet(
        java.util.Collections.newSetFromMap(new java.util.LinkedHashMap<>(16, 0.75f, false) {
          @Override
          protected boolean removeEldestEntry(java.util.Map.Entry<String, Boolean> eldest) {
            return size() > 10_000;
          }
        }));

    UndecodableOut(DeadLetters deadLetters, String group) {
      this.deadLetters = deadLetters;
      this.group = group;
    }

    @Override
    public ConsumerRecords<K, V> intercept(ConsumerRecords<K, V> records, Consumer<K, V> consumer) {
      for (ConsumerRecord<K, V> record : records) {
        if (record.value() == null) {
          DeserializationException undecodable =
              SerializationUtils.getExceptionFromHeader(record, SerializationUtils.VALUE_DESERIALIZER_EXCEPTION_HEADER, LOG);
          String id = record.topic() + "-" + record.partition() + "@" + record.offset();
          if (undecodable != null && !sent.contains(id)) {
            deadLetters.send(record, consumer, group, undecodable);
            sent.add(id);
          }
        }
      }
      return records;
    }
  }
}
