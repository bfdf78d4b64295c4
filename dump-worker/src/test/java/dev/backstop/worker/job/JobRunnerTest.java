package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import dev.backstop.worker.catalog.JobLedger;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The runner's scheduling against the real ledger queries, on the in-process store. */
class JobRunnerTest {

  private final AdjustableClock clock = new AdjustableClock();
  private final List<String> ran = Collections.synchronizedList(new ArrayList<>());
  private MongoHandle mongo;
  private MongoClient client;
  private JobLedger ledger;
  private JobRunner runner;

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    ledger = new JobLedger(client.getDatabase("runner-" + System.nanoTime()));
  }

  @AfterEach
  void stop() {
    if (runner != null) {
      runner.close();
    }
    client.close();
    mongo.close();
  }

  private JobRunner runner(int threads, Duration poll, JobRunner.Work work) {
    return new JobRunner("test", ledger, work, threads, "me", Duration.ofSeconds(30), poll, Duration.ofSeconds(5), clock);
  }

  private void record(String id, String key) {
    ledger.record(id, key, id.getBytes(StandardCharsets.UTF_8), clock.instant());
  }

  /** Work that finishes its job, as a backup that completed records its outcome. */
  private JobRunner.Work finishing() {
    return job -> {
      ran.add(job.id());
      ledger.settle(job.id(), "me", JobLedger.State.DONE, new byte[] {1});
      ledger.announced(job.id());
    };
  }

  @Test
  void a_request_replayed_into_an_empty_ledger_after_its_outcome_was_read_back_is_never_run() {
    java.util.concurrent.atomic.AtomicReference<java.time.Instant> readUpTo = new java.util.concurrent.atomic.AtomicReference<>();
    runner = runner(1, Duration.ofMillis(50), finishing()).gatedBy(readUpTo::get);
    // the replay reads the request before the topic its outcome is on: the job waits for the outcomes
    record("done-before", "a");
    record("failed-before", "b");
    record("never-ran", "c");
    assertThat(runner.runNext()).as("nothing is known of the outcomes yet").isFalse();
    clock.advance(Duration.ofSeconds(1));
    ledger.settledElsewhere("done-before", "a", JobLedger.State.DONE, new byte[] {7}, clock.instant());
    ledger.settledElsewhere("failed-before", "b", JobLedger.State.FAILED, new byte[] {8}, clock.instant());
    readUpTo.set(clock.instant());

    runner.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("never-ran"));
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> ran.equals(List.of("never-ran")));
    assertThat(ledger.state("done-before")).isEqualTo(JobLedger.State.DONE);
    assertThat(ledger.state("failed-before")).isEqualTo(JobLedger.State.FAILED);
    assertThat(ledger.over("done-before")).isTrue();
    // and a request read after its outcome changes nothing either
    assertThat(ledger.record("done-before", "a", new byte[] {1}, clock.instant())).isFalse();
    assertThat(ledger.state("done-before")).isEqualTo(JobLedger.State.DONE);
  }

  @Test
  void a_job_recorded_after_the_outcomes_were_last_read_waits_until_they_are_read_past_it() {
    java.util.concurrent.atomic.AtomicReference<java.time.Instant> readUpTo = new java.util.concurrent.atomic.AtomicReference<>(clock.instant());
    runner = runner(1, Duration.ofMillis(50), finishing()).gatedBy(readUpTo::get);
    clock.advance(Duration.ofSeconds(1));
    record("j1", "a");
    assertThat(runner.runNext()).isFalse();
    clock.advance(Duration.ofSeconds(1));
    readUpTo.set(clock.instant());
    assertThat(runner.runNext()).isTrue();
    assertThat(ran).containsExactly("j1");
  }

  @Test
  void a_job_woken_for_but_held_back_by_the_outcomes_progress_starts_once_that_progress_moves_not_at_the_next_poll() {
    java.util.concurrent.atomic.AtomicInteger readings = new java.util.concurrent.atomic.AtomicInteger();
    java.time.Instant before = clock.instant();
    // the outcomes' progress, as the broker reports it: read up to before the job at first, past it from the third reading
    runner = runner(1, Duration.ofMinutes(1), finishing())
        .gatedBy(() -> readings.incrementAndGet() < 3 ? before : clock.instant().plusMillis(1)).start();
    await().pollDelay(Duration.ofMillis(300)).until(() -> true);
    clock.advance(Duration.ofSeconds(1));

    record("j1", "a");
    runner.wake();

    // a minute's poll interval: only looking again at the progress soon after the wake-up starts the job in time
    await().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("j1"));
    assertThat(readings.get()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void an_idle_runner_does_not_read_the_outcomes_progress_and_reads_it_again_for_a_job_recorded() {
    java.util.concurrent.atomic.AtomicInteger readings = new java.util.concurrent.atomic.AtomicInteger();
    // each reading is a few broker requests: two threads polling every 20 ms would read it a hundred times a second
    runner = runner(2, Duration.ofMillis(20), finishing()).gatedBy(() -> {
      readings.incrementAndGet();
      return clock.instant().plusMillis(1);
    }).start();
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> readings.get() == 0);

    clock.advance(Duration.ofSeconds(1));
    record("j1", "a");
    runner.wake();
    await().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("j1"));
    assertThat(readings.get()).as("readings for the job").isPositive();

    // the job over, the queue is empty again: the threads stop reading
    await().atMost(Duration.ofSeconds(2)).until(() -> ledger.over("j1"));
    int after = readings.get();
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> readings.get() <= after + 2);
  }

  @Test
  void the_queue_holds_a_job_besides_those_running_here_until_every_recorded_one_is_among_them() {
    assertThat(ledger.anyQueuedBesides(List.of())).as("empty ledger").isFalse();
    record("j1", "a");
    record("j2", "b");
    assertThat(ledger.anyQueuedBesides(List.of())).isTrue();
    assertThat(ledger.anyQueuedBesides(List.of("j1"))).as("j2 is not running here").isTrue();
    assertThat(ledger.anyQueuedBesides(List.of("j2", "j1", "elsewhere"))).isFalse();
  }

  @Test
  void a_recorded_job_starts_at_once_when_the_runner_is_woken_not_at_its_next_poll() {
    runner = runner(1, Duration.ofMinutes(1), finishing()).start();
    // the idle thread has looked once and sleeps its minute: only the wake-up can start the job in time
    await().pollDelay(Duration.ofMillis(300)).until(() -> true);

    record("j1", "a");
    runner.wake();

    await().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("j1"));
    assertThat(ledger.over("j1")).isTrue();
  }

  @Test
  void jobs_are_claimed_oldest_first_and_an_addon_already_running_here_comes_after_the_others() {
    record("a-1", "a");
    clock.advance(Duration.ofSeconds(1));
    record("a-2", "a");
    clock.advance(Duration.ofSeconds(1));
    record("b-1", "b");

    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()))
        .hasValueSatisfying(job -> assertThat(job.id()).isEqualTo("a-1"));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of("a"), List.of()))
        .as("a's older job waits while a runs here").hasValueSatisfying(job -> assertThat(job.id()).isEqualTo("b-1"));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of("a", "b"), List.of()))
        .as("nothing else to run: a's next job").hasValueSatisfying(job -> assertThat(job.id()).isEqualTo("a-2"));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())).isEmpty();
  }

  @Test
  void a_rescheduled_job_queues_behind_the_jobs_already_waiting_and_keeps_its_failure_count() {
    record("retry", "a");
    JobLedger.Job first = ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()).orElseThrow();
    assertThat(ledger.reschedule("retry", "me", clock.instant().plusSeconds(10), 1, "connection refused")).isTrue();
    record("other", "b");

    clock.advance(Duration.ofSeconds(10));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()))
        .hasValueSatisfying(job -> assertThat(job.id()).isEqualTo("other"));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())).hasValueSatisfying(job -> {
      assertThat(job.id()).isEqualTo("retry");
      assertThat(job.failures()).isEqualTo(1);
      assertThat(job.attempt()).isEqualTo(first.attempt() + 1);
      assertThat(job.takenOver()).isFalse();
    });
  }

  @Test
  void a_job_whose_worker_stopped_heartbeating_is_taken_over_once_its_lease_runs_out() {
    record("j1", "a");
    assertThat(ledger.claimNext("dead", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())).isPresent();
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())).as("lease live").isEmpty();

    clock.advance(Duration.ofSeconds(31));
    assertThat(ledger.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()))
        .hasValueSatisfying(job -> assertThat(job.takenOver()).isTrue());
    assertThat(ledger.renew("j1", "dead", clock.instant().plusSeconds(30))).as("the dead worker's lease is gone").isFalse();
  }

  @Test
  void a_job_running_here_whose_lease_lapsed_is_not_taken_over_by_this_runners_other_threads() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    List<String> started = Collections.synchronizedList(new ArrayList<>());
    runner = runner(2, Duration.ofMillis(20), job -> {
      started.add(job.id());
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        throw new InterruptedIOException();
      }
      finishing().run(job);
    }).start();
    record("j1", "a");
    runner.wake();
    await().atMost(Duration.ofSeconds(5)).until(() -> started.contains("j1"));

    // the clock jumps past the lease before any heartbeat renews it (this work has none)
    clock.advance(Duration.ofSeconds(31));
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> started.size() == 1);

    release.countDown();
    await().atMost(Duration.ofSeconds(5)).until(() -> ledger.over("j1"));
    assertThat(started).containsExactly("j1");
    assertThat(ran).containsExactly("j1");
  }

  @Test
  void stopping_the_runner_interrupts_a_running_job_and_gives_it_back_for_the_next_worker_at_once() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    runner = runner(1, Duration.ofMillis(50), job -> {
      started.countDown();
      try {
        Thread.sleep(Duration.ofMinutes(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("stopped");
      }
    }).start();
    record("j1", "a");
    runner.wake();
    assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

    runner.close();

    assertThat(ledger.state("j1")).isEqualTo(JobLedger.State.PENDING);
    assertThat(ledger.claimNext("next", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()))
        .as("no lease to wait out").hasValueSatisfying(job -> assertThat(job.id()).isEqualTo("j1"));
  }

  @Test
  void a_job_whose_work_fails_unexpectedly_is_given_back_after_the_error_backoff_not_at_once() {
    runner = runner(1, Duration.ofMillis(20), job -> {
      ran.add(job.id());
      throw new IllegalStateException("the broker is unreachable");
    });
    record("j1", "a");

    assertThat(runner.runNext()).isTrue();
    assertThat(runner.runNext()).as("within the 5 s error backoff").isFalse();
    clock.advance(Duration.ofSeconds(5));
    assertThat(runner.runNext()).isTrue();
    assertThat(ran).containsExactly("j1", "j1");
  }

  @Test
  void several_threads_run_jobs_side_by_side_and_each_job_runs_once() {
    CountDownLatch both = new CountDownLatch(2);
    runner = runner(2, Duration.ofMillis(50), job -> {
      both.countDown();
      try {
        // each job waits for the other: only two threads at once get past this
        assertThat(both.await(5, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        throw new InterruptedIOException();
      }
      finishing().run(job);
    }).start();
    record("j1", "a");
    record("j2", "b");
    runner.wake();

    await().atMost(Duration.ofSeconds(10)).until(() -> ledger.over("j1") && ledger.over("j2"));
    assertThat(ran).containsExactlyInAnyOrder("j1", "j2");
  }

  @Test
  void a_claim_reads_only_the_jobs_that_are_not_over_whatever_the_history() {
    var database = client.getDatabase("queue-" + System.nanoTime());
    JobLedger history = new JobLedger(database);
    var queue = database.getCollection("jobs-queue");
    // a rebuild: outcomes read before and after their requests, and a request whose backup never ended
    for (int i = 0; i < 300; i++) {
      String id = "old-" + i;
      if (i % 2 == 0) {
        history.settledElsewhere(id, "a", JobLedger.State.DONE, new byte[] {1}, clock.instant());
        assertThat(history.record(id, "a", new byte[] {2}, clock.instant())).isFalse();
      } else {
        assertThat(history.record(id, "a", new byte[] {2}, clock.instant())).isTrue();
        history.settledElsewhere(id, "a", JobLedger.State.FAILED, new byte[] {1}, clock.instant());
      }
    }
    history.record("open", "b", new byte[] {3}, clock.instant());
    assertThat(queue.countDocuments()).as("the queue lists the one job not over, not the history").isEqualTo(1);

    JobLedger.Job claimed = history.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())
        .orElseThrow();
    assertThat(claimed.id()).isEqualTo("open");
    history.settle("open", "me", JobLedger.State.DONE, new byte[] {4});
    assertThat(queue.countDocuments()).as("settled, not yet published: still to do").isEqualTo(1);
    history.announced("open");
    assertThat(queue.countDocuments()).isZero();
    assertThat(history.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of())).isEmpty();
  }

  @Test
  void a_job_a_worker_recorded_without_queueing_it_is_queued_and_run_once_a_worker_starts() {
    var database = client.getDatabase("unqueued-" + System.nanoTime());
    new JobLedger(database).record("listed", "a", new byte[] {1}, clock.instant());
    // a worker of the version before the queue, or one that died between its two writes, left these
    database.getCollection("jobs").insertOne(new org.bson.Document("_id", "unlisted").append("state", "PENDING")
        .append("key", "b").append("request", new org.bson.types.Binary(new byte[] {2}))
        .append("recordedAt", java.util.Date.from(clock.instant())).append("notBefore", java.util.Date.from(clock.instant()))
        .append("attempts", 0).append("failures", 0).append("leaseUntil", new java.util.Date(0)));
    database.getCollection("jobs-queue").insertOne(new org.bson.Document("_id", "over"));
    database.getCollection("jobs").insertOne(new org.bson.Document("_id", "over").append("state", "DONE").append("key", "c")
        .append("announced", true));

    JobLedger restarted = new JobLedger(database);

    assertThat(database.getCollection("jobs-queue").distinct("_id", String.class).into(new ArrayList<>()))
        .containsExactlyInAnyOrder("listed", "unlisted");
    List<String> claimed = new ArrayList<>();
    restarted.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()).ifPresent(j -> claimed.add(j.id()));
    restarted.claimNext("me", clock.instant(), clock.instant().plusSeconds(30), List.of(), List.of()).ifPresent(j -> claimed.add(j.id()));
    assertThat(claimed).containsExactlyInAnyOrder("listed", "unlisted");
  }

  @Test
  void requests_recorded_while_no_outcome_is_read_yet_do_not_each_send_the_runner_to_the_ledger() {
    java.util.concurrent.atomic.AtomicInteger claims = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger looks = new java.util.concurrent.atomic.AtomicInteger();
    ledger = new JobLedger(client.getDatabase("wakes-" + System.nanoTime())) {
      @Override
      public boolean anyQueuedBesides(java.util.Collection<String> runningHere) {
        looks.incrementAndGet();
        return super.anyQueuedBesides(runningHere);
      }

      @Override
      public java.util.Optional<Job> claimNext(String owner, java.time.Instant now, java.time.Instant leaseUntil,
          java.util.Collection<String> busyKeys, java.util.Collection<String> runningHere, java.time.Instant outcomesReadUpTo) {
        claims.incrementAndGet();
        return super.claimNext(owner, now, leaseUntil, busyKeys, runningHere, outcomesReadUpTo);
      }
    };
    java.util.concurrent.atomic.AtomicReference<java.time.Instant> readUpTo = new java.util.concurrent.atomic.AtomicReference<>();
    runner = runner(1, Duration.ofMinutes(1), finishing()).gatedBy(readUpTo::get).start();
    // the idle thread has looked at the empty queue once and sleeps its minute
    await().atMost(Duration.ofSeconds(5)).until(() -> looks.get() == 1);

    // a replay into an empty ledger: every request read wakes the runner, none can run before its outcome is read
    for (int i = 0; i < 200; i++) {
      record("replayed-" + i, "a");
      runner.wake();
    }
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> claims.get() == 0);

    // the outcomes read (none of these had one): the next wake claims, and the jobs run
    clock.advance(Duration.ofSeconds(1));
    readUpTo.set(clock.instant());
    runner.wake();
    await().atMost(Duration.ofSeconds(10)).until(() -> ran.size() == 200);
    assertThat(ran).doesNotHaveDuplicates();
  }
}
