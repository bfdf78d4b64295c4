package dev.backstop.worker.messaging;

import com.mongodb.MongoException;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records what a consumer read, trying again for as long as the store refuses, on the consumer's
 * thread: the record's offset is committed only once it is stored, so nothing read is lost, and the
 * binder's own retries (which, without a dead-letter topic, end by skipping the record) never come
 * into play. While the store is down no worker can run anything anyway; holding the partition costs
 * nothing.
 */
public final class UntilRecorded {

  private static final Logger log = LoggerFactory.getLogger(UntilRecorded.class);

  private final Duration first;
  private final Duration max;

  /** Waits {@code first} after the first refusal, doubling up to {@code max}. */
  public UntilRecorded(Duration first, Duration max) {
    this.first = first;
    this.max = max;
  }

  /** Runs {@code step} until it returns without a MongoDB error; an interrupt (shutdown) ends the wait with an exception. */
  public <T> T record(String what, Supplier<T> step) {
    Duration wait = first;
    for (int attempt = 1; ; attempt++) {
      try {
        return step.get();
      } catch (MongoException e) {
        log.warn("{} could not be recorded (attempt {}), tried again in {}: {}", what, attempt, wait, e.toString());
      }
      try {
        Thread.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(what + " not recorded: the worker is stopping", e);
      }
      wait = wait.multipliedBy(2).compareTo(max) > 0 ? max : wait.multipliedBy(2);
    }
  }
}
