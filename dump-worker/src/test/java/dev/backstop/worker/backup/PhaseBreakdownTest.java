package dev.backstop.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupTimings;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class PhaseBreakdownTest {

  private static final Instant T0 = Instant.parse("2026-12-01T01:00:00Z");

  @Test
  void a_slow_backup_says_which_phase_took_the_time() {
    var timings = new BackupTimings(T0.plusMillis(120), T0.plusMillis(150), T0.plusMillis(900), T0.plusSeconds(12),
        T0.plusMillis(12_500), T0.plusMillis(12_520), null);

    String line = PhaseBreakdown.describe(T0, timings, Duration.ofMillis(300).toNanos());

    assertThat(line).isEqualTo(
        "queued 120 ms, preparing 30 ms, first byte 750 ms, dump 11.1 s, archive 300 ms, store 200 ms, total 12.5 s");
  }

  @Test
  void a_dump_that_wrote_nothing_has_no_first_byte_phase_and_its_dump_counts_from_the_start() {
    var timings = new BackupTimings(T0, T0, null, T0.plusMillis(40), T0.plusMillis(60), T0.plusMillis(61), null);

    assertThat(PhaseBreakdown.describe(T0, timings, 0))
        .isEqualTo("queued 0 ms, preparing 0 ms, dump 40 ms, archive 0 ms, store 20 ms, total 61 ms");
  }
}
