package dev.backstop.scheduler.missed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.scheduler.missed.MissedBackupRule.DayRecord;
import dev.backstop.scheduler.missed.MissedBackupRule.Verdict;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.schemas.events.MissedFinding;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** When a local day counts as missed, and what the watchdog says it found. */
class MissedBackupRuleTest {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final MissedBackupRule RULE = new MissedBackupRule(Duration.ofHours(6));
  private static final RecurringBackup AT_ONE = new RecurringBackup(1, PARIS, Duration.ofMinutes(10), null);
  private static final LocalDate DAY = LocalDate.parse("2026-06-10");
  /** 01:10 in Paris (CEST, UTC+2) on DAY. */
  private static final Instant FIRE = Instant.parse("2026-06-09T23:10:00Z");
  private static final Instant CHECK = FIRE.plus(Duration.ofHours(6));

  private static Verdict judge(DayRecord day, Instant lastSucceededAt) {
    return RULE.judge(AT_ONE, DAY, day, lastSucceededAt, CHECK);
  }

  @Test
  void a_day_is_judged_at_its_fire_time_plus_the_grace() {
    assertThat(RULE.checkAt(AT_ONE, DAY)).isEqualTo(Instant.parse("2026-06-10T05:10:00Z"));
  }

  @Test
  void a_day_whose_scheduled_backup_completed_is_fine() {
    assertThat(judge(new DayRecord(FIRE, FIRE, null, FIRE.plusSeconds(60), null), null)).isInstanceOf(Verdict.Fine.class);
  }

  @Test
  void a_scheduled_backup_that_failed_then_completed_on_resume_is_fine() {
    assertThat(judge(new DayRecord(FIRE, FIRE.plusSeconds(120), FIRE.plusSeconds(60), FIRE.plusSeconds(180), "refused"), null))
        .isInstanceOf(Verdict.Fine.class);
  }

  @Test
  void a_manual_backup_completed_during_that_local_day_counts_for_it_one_before_midnight_does_not() {
    // 00:30 in Paris on DAY is still the evening before in UTC
    assertThat(judge(DayRecord.NOTHING, Instant.parse("2026-06-09T22:30:00Z"))).isInstanceOf(Verdict.Fine.class);
    assertThat(judge(DayRecord.NOTHING, Instant.parse("2026-06-09T21:59:00Z"))).isInstanceOf(Verdict.Missed.class);
  }

  @Test
  void a_day_for_which_nothing_was_requested_is_missed_as_never_requested() {
    assertThat(judge(DayRecord.NOTHING, null)).isEqualTo(
        new Verdict.Missed(MissedFinding.NEVER_REQUESTED, "no backup was requested for 2026-06-10"));
  }

  @Test
  void a_requested_backup_no_worker_started_is_missed_as_requested_never_started() {
    assertThat(judge(new DayRecord(FIRE, null, null, null, null), null)).isEqualTo(new Verdict.Missed(
        MissedFinding.REQUESTED_NEVER_STARTED, "requested at 2026-06-09T23:10:00Z, never started"));
  }

  @Test
  void a_failed_backup_is_missed_as_requested_and_failed_with_its_reason() {
    assertThat(judge(new DayRecord(FIRE, FIRE, FIRE.plusSeconds(5), null, "connection refused"), null))
        .isEqualTo(new Verdict.Missed(MissedFinding.REQUESTED_AND_FAILED, "connection refused"));
  }

  @Test
  void a_backup_running_for_less_than_the_grace_is_waited_for_until_the_grace_has_passed_since_it_started() {
    Instant started = CHECK.minus(Duration.ofHours(1));
    assertThat(judge(new DayRecord(FIRE, started, null, null, null), null))
        .isEqualTo(new Verdict.Wait(started.plus(Duration.ofHours(6))));
    // a resumed attempt after a failure is running too
    assertThat(judge(new DayRecord(FIRE, started, started.minusSeconds(60), null, "refused"), null))
        .isInstanceOf(Verdict.Wait.class);
  }

  @Test
  void a_backup_running_for_longer_than_the_grace_is_missed_as_stuck_running() {
    assertThat(judge(new DayRecord(FIRE, FIRE, null, null, null), null))
        .isEqualTo(new Verdict.Missed(MissedFinding.STUCK_RUNNING, "running since 2026-06-09T23:10:00Z"));
  }

  @Test
  void on_the_spring_forward_day_a_time_in_the_gap_is_judged_from_when_the_gap_ends() {
    // 2026-03-29: Paris skips 02:00-03:00; 02:10 fires at 03:10 CEST = 01:10 UTC
    RecurringBackup atTwo = new RecurringBackup(2, PARIS, Duration.ofMinutes(10), null);
    assertThat(RULE.checkAt(atTwo, LocalDate.parse("2026-03-29"))).isEqualTo(Instant.parse("2026-03-29T07:10:00Z"));
  }

  @Test
  void on_the_fall_back_day_a_time_that_happens_twice_is_judged_from_its_first_occurrence() {
    // 2026-10-25: Paris goes through 02:00-03:00 twice; the first 02:10 is CEST = 00:10 UTC
    RecurringBackup atTwo = new RecurringBackup(2, PARIS, Duration.ofMinutes(10), null);
    assertThat(RULE.checkAt(atTwo, LocalDate.parse("2026-10-25"))).isEqualTo(Instant.parse("2026-10-25T06:10:00Z"));
  }

  @Test
  void a_day_whose_hour_passed_before_the_addon_was_registered_is_not_watched() {
    assertThat(MissedBackupRule.firstDayToWatch(AT_ONE, Instant.parse("2026-06-10T08:00:00Z"))).isEqualTo(DAY.plusDays(1));
    assertThat(MissedBackupRule.firstDayToWatch(AT_ONE, Instant.parse("2026-06-09T22:30:00Z"))).isEqualTo(DAY);
  }

  @Test
  void the_report_id_is_the_same_for_an_addon_and_day_and_differs_for_another_day_or_addon() {
    assertThat(MissedBackupRule.missedId("pg-1", DAY)).isEqualTo(MissedBackupRule.missedId("pg-1", DAY)).matches("[0-9a-f]{24}");
    assertThat(MissedBackupRule.missedId("pg-1", DAY)).isNotEqualTo(MissedBackupRule.missedId("pg-1", DAY.plusDays(1)))
        .isNotEqualTo(MissedBackupRule.missedId("pg-2", DAY));
  }

  @Test
  void a_grace_so_long_the_next_day_would_be_due_first_is_refused() {
    assertThatThrownBy(() -> new MissedBackupRule(Duration.ofHours(24))).hasMessageContaining("0 to 23 hours");
  }
}
