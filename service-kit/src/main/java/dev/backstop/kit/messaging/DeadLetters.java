package dev.backstop.kit.messaging;

import com.mongodb.MongoException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import dev.backstop.schemas.serde.EventDeserializer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.ListenerExecutionFailedException;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.MessagingException;
import org.springframework.kafka.support.serializer.DeserializationException;

/**
 * Where a consumer puts a record it can never handle, so that it goes on with the next one: the record,
 * byte for byte as it was read, on the dead-letter topic of its consumer group,
 * {@code error.<topic>.<group>} (the Kafka binder's own naming), with Spring Kafka's {@code kafka_dlt-*}
 * headers: exception class, message and stack trace, original topic, partition, offset, timestamp and
 * consumer group. Each one counts in {@code backstop.dead.letters}.
 *
 * <p>Only a record that is the problem goes there: one that cannot be decoded, or whose handling fails
 * in a way trying again cannot change. A failure of what the consumer depends on (the store, the broker,
 * the archive store) or the service stopping never sends a record there: the consumer tries the record
 * again, holding its partition, until it goes through ({@link #classify}).
 */
public final class DeadLetters implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

  /** The counter of records sent to a dead-letter topic, tagged {@code topic}, {@code group}, {@code exception}. */
  public static final String METRIC = "backstop.dead.letters";

  /** Why a record failed, as far as what to do with it goes. */
  public enum Failure {
    /** It cannot be decoded (unknown schema fingerprint, truncated or foreign bytes): dead-lettered at once. */
    UNDECODABLE,
    /** What the consumer depends on failed: tried again, without end, never dead-lettered. */
    TRANSIENT,
    /** The service is stopping: the record is left for whoever reads the partition next. */
    STOPPING,
    /** Its handling failed for a reason of its own: dead-lettered once the binding's attempts are used. */
    PERMANENT
  }

  private final KafkaOperations<Object, Object> template;
  private final Map<String, DeadLetterPublishingRecoverer> recoverers = new ConcurrentHashMap<>();
  private final MeterRegistry meters;
  private final String applicationName;

  /**
   * @param template producer of dead letters; values are either the bytes as read (undecodable records) or
   *     the decoded event (records whose handling failed)
   * @param applicationName names the dead-letter topic of a consumer without a group (it reads the topic from
   *     its end at each start, and its group's generated name changes every time)
   */
  public DeadLetters(KafkaOperations<Object, Object> template, MeterRegistry meters, String applicationName) {
    this.template = template;
    this.meters = meters;
    this.applicationName = applicationName;
  }

  @Override
  public void close() throws Exception {
    if (template.getProducerFactory() instanceof org.springframework.beans.factory.DisposableBean producers) {
      producers.destroy();
    }
  }

  /** The dead-letter topic of consumer group {@code group} on {@code topic}. */
  public String topic(String topic, String group) {
    return topicFor(topic, group, applicationName);
  }

  /**
   * The dead-letter topic of a consumer group: {@code error.<topic>.<group>}; a consumer without a group (the
   * binder names it {@code anonymous.<uuid>}) uses the application's name instead.
   */
  public static String topicFor(String topic, String group, String applicationName) {
    boolean anonymous = group == null || group.isBlank() || group.startsWith("anonymous.");
    return "error." + topic + "." + (anonymous ? applicationName : group);
  }

  /**
   * Publishes {@code record} to its dead-letter topic and waits for the broker's acknowledgement; throws if
   * there is none, so that the record is read again rather than lost.
   *
   * @param consumer the consumer that read it (its group goes in a header)
   * @param group the consumer's group, as the binder named it
   */
  public void send(ConsumerRecord<?, ?> record, Consumer<?, ?> consumer, String group, Exception failure) {
    Failure kind = classify(failure);
    if (kind == Failure.TRANSIENT || kind == Failure.STOPPING) {
      // never a dead letter: the caller's error handling tries the record again
      throw new IllegalStateException(kind + " failure: the record is not dead-lettered", failure);
    }
    Exception cause = unwrapped(failure);
    recoverers.computeIfAbsent(group + " " + record.topic(), any -> recoverer(group, record.topic())).accept(record, consumer, cause);
    String exception = rootCause(failure).getClass().getSimpleName();
    counter(record.topic(), group, exception).increment();
    log.error("{}-{}@{} sent to dead-letter topic {} ({} failure of group {}): {}", record.topic(), record.partition(),
        record.offset(), topic(record.topic(), group), kind, group, rootCause(failure).toString());
  }

  private Counter counter(String topic, String group, String exception) {
    return Counter.builder(METRIC)
        .description("Records a consumer could not handle, sent to its dead-letter topic")
        .tag("topic", topic)
        .tag("group", group.startsWith("anonymous.") ? applicationName : group)
        .tag("exception", exception)
        .register(meters);
  }

  /**
   * What a failure says about the record. Walks the causes: the binder and the listener container wrap
   * the handler's exception.
   */
  public static Failure classify(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof DeserializationException) {
        return Failure.UNDECODABLE;
      }
      if (t instanceof InterruptedException || t instanceof InterruptedIOException) {
        return Failure.STOPPING;
      }
      if (t instanceof MongoException || t instanceof RetriableException || t instanceof TimeoutException
          || t instanceof IOException || t instanceof UncheckedIOException
          || t instanceof org.springframework.kafka.KafkaException && t.getCause() instanceof RetriableException
          || t instanceof software.amazon.awssdk.core.exception.SdkClientException) {
        return Failure.TRANSIENT;
      }
    }
    return Failure.PERMANENT;
  }

  private static Throwable rootCause(Throwable failure) {
    Throwable deepest = failure;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      deepest = t;
      if (t instanceof DeserializationException) {
        return t;
      }
    }
    return deepest;
  }

  private static String whyUndecodable(String topic, DeserializationException undecodable) {
    if (undecodable.getCause() != null) {
      return undecodable.getCause().getMessage();
    }
    try {
      new EventDeserializer().deserialize(topic, undecodable.getData());
      return "(it decodes now)";
    } catch (RuntimeException e) {
      return e.getMessage();
    }
  }

  private DeadLetterPublishingRecoverer recoverer(String group, String topic) {
    // the partition is left to the key (the addon id): one addon's dead letters stay in order, whatever the
    // number of partitions the dead-letter topic has
    DeadLetterPublishingRecoverer recoverer =
        new DeadLetterPublishingRecoverer(template, (record, exception) -> new TopicPartition(topic(record.topic(), group), -1));
    // Spring Kafka names the group only when the failure came wrapped by the listener container; an undecodable
    // record never reaches the listener
    byte[] groupHeader = group.getBytes(StandardCharsets.UTF_8);
    recoverer.setHeadersFunction((record, exception) ->
        new RecordHeaders().add(KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP, groupHeader));
    // an undecodable record's exception is the one its header carries, whose message is only "failed to
    // deserialize" (the deserializer's own exception does not survive the header): decoding the bytes again says why
    recoverer.setExceptionHeadersCreator((headers, exception, isKey, names) -> {
      Exception described = exception instanceof DeserializationException undecodable
          ? new DeserializationException(undecodable.getMessage() + ": " + whyUndecodable(topic, undecodable),
              undecodable.getData(), undecodable.isKey(), undecodable.getCause())
          : exception;
      var info = names.getExceptionInfo();
      replace(headers, isKey ? info.getKeyExceptionFqcn() : info.getExceptionFqcn(), described.getClass().getName());
      Throwable root = rootCause(described);
      if (root != described) {
        replace(headers, info.getExceptionCauseFqcn(), root.getClass().getName());
      }
      replace(headers, isKey ? info.getKeyExceptionMessage() : info.getExceptionMessage(), String.valueOf(described.getMessage()));
      var trace = new java.io.StringWriter();
      described.printStackTrace(new java.io.PrintWriter(trace));
      replace(headers, isKey ? info.getKeyExceptionStacktrace() : info.getExceptionStacktrace(), trace.toString());
    });
    return recoverer;
  }

  private static void replace(org.apache.kafka.common.header.Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /** The handler's own exception, out of the listener container's and the binder's wrappers: what the headers describe. */
  private static Exception unwrapped(Exception failure) {
    Throwable t = failure;
    while ((t instanceof ListenerExecutionFailedException || t instanceof MessagingException) && t.getCause() instanceof Exception) {
      t = t.getCause();
    }
    return (Exception) t;
  }
}
