package dev.backstop.kit.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoSocketReadException;
import com.mongodb.ServerAddress;
import dev.backstop.kit.messaging.DeadLetters.Failure;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.listener.ListenerExecutionFailedException;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.messaging.MessageHandlingException;
import org.springframework.messaging.support.GenericMessage;

class DeadLettersTest {

  private static Exception asTheBinderHandsIt(Exception handlerFailure) {
    return new ListenerExecutionFailedException("listener failed",
        new MessageHandlingException(new GenericMessage<>("payload"), handlerFailure));
  }

  @Test
  void a_record_that_cannot_be_decoded_is_undecodable_whatever_the_cause_inside_the_deserializer() {
    var undecodable = new DeserializationException("failed to deserialize", new byte[] {1}, false, new IOException("EOF"));
    assertThat(DeadLetters.classify(undecodable)).isEqualTo(Failure.UNDECODABLE);
    assertThat(DeadLetters.classify(asTheBinderHandsIt(undecodable))).isEqualTo(Failure.UNDECODABLE);
  }

  @Test
  void the_store_the_broker_or_the_archive_store_failing_is_transient_and_never_a_dead_letter() {
    var mongoDown = new MongoSocketReadException("Prematurely reached end of stream", new ServerAddress());
    assertThat(DeadLetters.classify(asTheBinderHandsIt(mongoDown))).isEqualTo(Failure.TRANSIENT);
    assertThat(DeadLetters.classify(asTheBinderHandsIt(new IllegalStateException("could not publish", new TimeoutException("t")))))
        .isEqualTo(Failure.TRANSIENT);
    assertThat(DeadLetters.classify(asTheBinderHandsIt(new UncheckedIOException(new IOException("store unreachable")))))
        .isEqualTo(Failure.TRANSIENT);
  }

  @Test
  void a_consumer_interrupted_while_the_service_stops_is_stopping_and_never_a_dead_letter() {
    var stopping = new IllegalStateException("backup b-1 not recorded: the worker is stopping", new InterruptedException());
    assertThat(DeadLetters.classify(asTheBinderHandsIt(stopping))).isEqualTo(Failure.STOPPING);
  }

  @Test
  void a_handler_failing_on_the_record_itself_is_permanent() {
    assertThat(DeadLetters.classify(asTheBinderHandsIt(new java.time.zone.ZoneRulesException("Unknown time-zone ID: Mars/Olympus"))))
        .isEqualTo(Failure.PERMANENT);
    assertThat(DeadLetters.classify(asTheBinderHandsIt(new NullPointerException("addon")))).isEqualTo(Failure.PERMANENT);
  }

  @Test
  void a_consumer_with_a_group_has_the_binders_dead_letter_topic_one_without_is_named_after_its_application() {
    assertThat(DeadLetters.topicFor("backstop.addons", "scheduler", "scheduler-service")).isEqualTo("error.backstop.addons.scheduler");
    assertThat(DeadLetters.topicFor("backstop.backup-progress", "anonymous.6f1c", "api-gateway"))
        .isEqualTo("error.backstop.backup-progress.api-gateway");
  }
}
