package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.catalog.JobLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The lifecycle every leased job shares, against the real ledger queries on the in-process store. */
class JobLifecycleTest {

  private final AdjustableClock clock = new AdjustableClock();
  private final List<SpecificRecord> published = Collections.synchronizedList(new ArrayList<>());
  private MongoHandle mongo;
  private MongoClient client;
  private JobLedger ledger;

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    ledger = new JobLedger(client.getDatabase("lifecycle-" + System.nanoTime()));
  }

  @AfterEach
  void stop() {
    client.close();
    mongo.close();
  }

  private JobLifecycle lifecycle(String owner) {
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String key, SpecificRecord event) {
        published.add(event);
      }
    };
    return new JobLifecycle("backup", ledger, publisher, owner, Duration.ofSeconds(30), Duration.ofSeconds(5), clock);
  }

  private JobLedger.Job claim(String owner) {
    return ledger.claimNext(owner, clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()).orElseThrow();
  }

  private BackupFailed outcome(String id) {
    return new BackupFailed(id, "addon-1", "app", BackupKind.MANUAL, clock.instant(), clock.instant(), null, "refused");
  }

  @Test
  void an_outcome_is_recorded_then_published_once_and_a_job_taken_over_publishes_nothing() {
    ledger.record("b1", "addon-1", new byte[] {1}, clock.instant());
    JobLedger.Job claimed = claim("w1");
    JobLifecycle first = lifecycle("w1");

    // w1 stalls past its lease; w2 takes the job over
    clock.advance(Duration.ofSeconds(31));
    JobLedger.Job takenOver = claim("w2");
    assertThat(takenOver.takenOver()).isTrue();
    assertThat(first.renew(claimed.id(), first.leaseEnd())).as("the stalled worker's heartbeat is refused").isFalse();
    assertThat(first.settle("b1", "addon-1", JobLedger.State.FAILED, outcome("b1"))).isFalse();
    assertThat(published).isEmpty();

    assertThat(lifecycle("w2").settle("b1", "addon-1", JobLedger.State.FAILED, outcome("b1"))).isTrue();
    assertThat(published).hasSize(1);
    assertThat(ledger.over("b1")).isTrue();
  }

  @Test
  void an_outcome_recorded_by_a_worker_that_died_before_publishing_is_published_unchanged_by_the_next() {
    ledger.record("b2", "addon-1", new byte[] {1}, clock.instant());
    claim("w1");
    // w1 records its outcome and dies before publishing it
    BackupFailed recorded = outcome("b2");
    assertThat(ledger.settle("b2", "w1", JobLedger.State.FAILED, EventCodec.get().encode(recorded))).isTrue();

    clock.advance(Duration.ofSeconds(31));
    JobLedger.Job next = claim("w2");
    assertThat(lifecycle("w2").publishRecordedOutcome(next, "addon-1")).isTrue();
    assertThat(published).singleElement().isEqualTo(recorded);
    assertThat(ledger.over("b2")).isTrue();
  }

  @Test
  void the_backoff_doubles_after_each_failure_up_to_its_cap() {
    Duration first = Duration.ofSeconds(10);
    Duration cap = Duration.ofMinutes(10);
    assertThat(JobLifecycle.backoff(first, 1, cap)).isEqualTo(Duration.ofSeconds(10));
    assertThat(JobLifecycle.backoff(first, 2, cap)).isEqualTo(Duration.ofSeconds(20));
    assertThat(JobLifecycle.backoff(first, 4, cap)).isEqualTo(Duration.ofSeconds(80));
    assertThat(JobLifecycle.backoff(first, 7, cap)).isEqualTo(cap);
    assertThat(JobLifecycle.backoff(first, 1000, cap)).isEqualTo(cap);
  }
}
