package dev.backstop.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoSocketOpenException;
import com.mongodb.ServerAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class UntilRecordedTest {

  @Test
  void a_request_the_store_refuses_three_times_is_recorded_at_the_fourth_attempt_not_skipped() {
    AtomicInteger attempts = new AtomicInteger();
    boolean recorded = new UntilRecorded(Duration.ofMillis(5), Duration.ofMillis(20)).record("backup b1", () -> {
      if (attempts.incrementAndGet() <= 3) {
        throw new MongoSocketOpenException("connection refused", new ServerAddress("127.0.0.1", 1));
      }
      return true;
    });

    assertThat(recorded).isTrue();
    assertThat(attempts).hasValue(4);
  }

  @Test
  void an_error_that_is_not_the_stores_is_not_retried_here() {
    AtomicInteger attempts = new AtomicInteger();
    assertThatThrownBy(() -> new UntilRecorded(Duration.ofMillis(5), Duration.ofMillis(20)).record("backup b1", () -> {
      attempts.incrementAndGet();
      throw new ClassCastException("not a request");
    })).isInstanceOf(ClassCastException.class);
    assertThat(attempts).hasValue(1);
  }

  @Test
  void a_worker_stopping_while_the_store_is_down_stops_trying_and_keeps_the_interrupt() {
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> new UntilRecorded(Duration.ofMillis(5), Duration.ofMillis(20)).record("backup b1", () -> {
        throw new MongoSocketOpenException("connection refused", new ServerAddress("127.0.0.1", 1));
      })).isInstanceOf(IllegalStateException.class).hasMessageContaining("stopping");
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }
}
