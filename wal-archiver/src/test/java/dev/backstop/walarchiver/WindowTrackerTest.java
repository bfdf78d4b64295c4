package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.pitr.Lsn;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The latest-time probe's rule and the stream-down bound, fed probe answers directly. */
class WindowTrackerTest {

  static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");
  static final WalArchiverProperties SETTINGS = new WalArchiverProperties(true, Duration.ofMillis(200),
      Duration.ofSeconds(30), Duration.ofSeconds(2), 200, Duration.ofSeconds(60), Duration.ofSeconds(1),
      Duration.ofSeconds(10), Duration.ofMinutes(10), Duration.ofSeconds(30), Duration.ofSeconds(30));

  static WindowTracker tracker() {
    StreamTarget target = new StreamTarget("pg-1", "127.0.0.1", 5432, "postgres", null, "test");
    // the probe rule needs none of the stores: they are only touched by step()
    return new WindowTracker(target, 1, "me", null, null, null, null, Clock.fixed(T0, ZoneOffset.UTC), SETTINGS,
        StreamFacts.NONE);
  }

  static Instant t(long seconds) {
    return T0.plusSeconds(seconds);
  }

  @Test
  void latest_is_the_newest_probe_time_whose_position_the_archive_holds() {
    WindowTracker tracker = tracker();
    tracker.durable(1, new Lsn(1000), -1, new WalStream.Counters(0, 0, 0));

    tracker.sample(t(1), new Lsn(900));
    tracker.sample(t(2), new Lsn(1000));
    tracker.sample(t(3), new Lsn(1500));

    assertThat(tracker.facts().latest()).isEqualTo(t(2));

    tracker.durable(1, new Lsn(1500), -1, new WalStream.Counters(0, 0, 0));
    tracker.sample(t(4), new Lsn(1800));

    assertThat(tracker.facts().latest()).as("the probe at t3 is now archived").isEqualTo(t(3));
  }

  @Test
  void a_probe_counts_once_its_position_is_archived_even_when_no_probe_follows() {
    WindowTracker tracker = tracker();
    tracker.durable(1, new Lsn(1000), -1, new WalStream.Counters(0, 0, 0));
    tracker.sample(t(1), new Lsn(1000));
    tracker.sample(t(2), new Lsn(1400)); // the last answer: the server dies before the next probe

    assertThat(tracker.facts().latest()).isEqualTo(t(1));

    // the stream stores what it had received when the connection dropped
    tracker.durable(1, new Lsn(1400), -1, new WalStream.Counters(0, 0, 0));

    assertThat(tracker.facts().latest()).isEqualTo(t(2));
  }

  @Test
  void an_idle_server_moves_latest_with_every_probe() {
    WindowTracker tracker = tracker();
    tracker.durable(1, new Lsn(1000), -1, new WalStream.Counters(0, 0, 0));

    for (int s = 1; s <= 5; s++) {
      tracker.sample(t(s), new Lsn(1000));
    }

    assertThat(tracker.facts().latest()).isEqualTo(t(5));
    assertThat(tracker.facts().streamDownSince()).isNull();
  }

  @Test
  void a_stream_behind_the_server_past_the_bound_is_down_since_the_last_latest_and_up_again_when_it_catches_up() {
    WindowTracker tracker = tracker();
    tracker.durable(1, new Lsn(1000), -1, new WalStream.Counters(0, 0, 0));
    tracker.sample(t(0), new Lsn(1000));

    tracker.sample(t(599), new Lsn(5000));
    assertThat(tracker.facts().streamDownSince()).as("within the bound").isNull();

    tracker.sample(t(601), new Lsn(6000));
    assertThat(tracker.facts().streamDownSince()).isEqualTo(t(0));

    tracker.durable(1, new Lsn(6000), -1, new WalStream.Counters(0, 0, 0));
    tracker.sample(t(602), new Lsn(6000));
    assertThat(tracker.facts().streamDownSince()).isNull();
    assertThat(tracker.facts().latest()).isEqualTo(t(602));
  }

  @Test
  void an_idle_server_is_never_down_however_long_nothing_is_archived() {
    WindowTracker tracker = tracker();
    tracker.durable(1, new Lsn(1000), -1, new WalStream.Counters(0, 0, 0));

    tracker.sample(t(0), new Lsn(1000));
    tracker.sample(t(3600), new Lsn(1000));

    assertThat(tracker.facts().streamDownSince()).isNull();
  }

  @Test
  void a_requested_base_id_is_stable_per_archive_restart_and_has_no_slash() {
    String id = PitrBaseRequestId.of("pg/1", WindowTracker.GAP, new Lsn(0x3000000), 7L);

    assertThat(id).isEqualTo(PitrBaseRequestId.of("pg/1", WindowTracker.GAP, new Lsn(0x3000000), 7L)).doesNotContain("/")
        .hasSize(24);
    assertThat(PitrBaseRequestId.of("pg/1", WindowTracker.GAP, new Lsn(0x4000000), 7L)).isNotEqualTo(id);
    assertThat(PitrBaseRequestId.of("pg/1", WindowTracker.STARTED, new Lsn(0x3000000), 7L)).isNotEqualTo(id);
    assertThat(PitrBaseRequestId.of("pg/1", WindowTracker.GAP, new Lsn(0x3000000), 8L)).as("a re-initialised cluster")
        .isNotEqualTo(id);
  }
}
