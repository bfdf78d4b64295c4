package dev.backstop.gateway.backups;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupProgress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BackupProgressBoardTest {

  private static final Instant T0 = Instant.parse("2026-11-30T01:00:00Z");

  private final BackupProgressBoard board = new BackupProgressBoard();

  private static BackupProgress report(String backupId, long seconds, long dumped, int attempt) {
    return new BackupProgress(backupId, "pg-1", "app", T0.plusSeconds(seconds), dumped, dumped / 4, attempt, "worker-a", null, null, null, null);
  }

  @Test
  void the_latest_report_of_a_running_backup_is_shown_and_a_late_older_one_does_not_replace_it() {
    board.report(report("b1", 5, 1_000, 1));
    board.report(report("b1", 10, 5_000, 1));
    board.report(report("b1", 7, 2_000, 1));

    assertThat(board.of("b1")).contains(new BackupProgressBoard.Progress(5_000, 1_250, 1, T0.plusSeconds(10), null, null, null, null));
  }

  @Test
  void a_retry_starts_again_from_zero_bytes_and_shows_its_attempt() {
    board.report(report("b2", 5, 9_000, 1));
    board.report(report("b2", 40, 100, 2));

    assertThat(board.of("b2")).hasValueSatisfying(p -> {
      assertThat(p.dumpedBytes()).isEqualTo(100);
      assertThat(p.attempt()).isEqualTo(2);
    });
  }

  @Test
  void a_backup_that_ended_is_forgotten() {
    board.report(report("b3", 5, 1_000, 1));
    board.forget("b3");

    assertThat(board.of("b3")).isEmpty();
    assertThat(board.of("never-reported")).isEmpty();
  }

  @Test
  void past_ten_thousand_running_backups_reports_an_hour_old_are_dropped_and_recent_ones_kept() {
    board.report(report("stale", 0, 1, 1));
    for (int i = 0; i < 10_000; i++) {
      board.report(report("b" + i, 3_600 + i % 60, 1, 1));
    }
    board.report(report("fresh", 3_700, 1, 1));

    assertThat(board.of("stale")).isEmpty();
    assertThat(board.of("b9999")).isPresent();
    assertThat(board.of("fresh")).isPresent();
  }
}
