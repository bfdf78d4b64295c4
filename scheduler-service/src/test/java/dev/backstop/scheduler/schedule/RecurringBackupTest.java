package dev.backstop.scheduler.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RecurringBackupTest {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

  @Test
  void default_one_oclock_paris_fires_at_midnight_utc_in_winter_and_23h_in_summer() {
    var schedule = new RecurringBackup(1, PARIS, Duration.ZERO, null);
    assertThat(schedule.fireTime(LocalDate.parse("2026-12-01"))).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
    assertThat(schedule.fireTime(LocalDate.parse("2026-07-01"))).isEqualTo(Instant.parse("2026-06-30T23:00:00Z"));
  }

  @Test
  void an_hour_skipped_by_spring_forward_fires_at_its_offset_after_the_gap() {
    // 2026-03-29 02:00 to 03:00 does not exist in Paris: 02:30 fires at 03:30 CEST
    var schedule = new RecurringBackup(2, PARIS, Duration.ofMinutes(30), null);
    assertThat(schedule.fireTime(LocalDate.parse("2026-03-29"))).isEqualTo(Instant.parse("2026-03-29T01:30:00Z"));
  }

  @Test
  void on_spring_forward_day_addons_of_the_skipped_hour_keep_their_spread() {
    LocalDate springForward = LocalDate.parse("2026-03-29");
    Set<Instant> fires = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      var schedule = RecurringBackup.daily("addon-" + i, 2, PARIS);
      Instant fire = schedule.fireTime(springForward);
      // the usual minute, counted from 03:00 CEST, when the skipped hour would have ended
      assertThat(fire).isEqualTo(Instant.parse("2026-03-29T01:00:00Z").plus(schedule.offsetInHour()));
      assertThat(schedule.nextFireAfter(fire.minusSeconds(1))).isEqualTo(fire);
      fires.add(fire);
    }
    assertThat(fires).hasSizeGreaterThan(150);
    // Lord Howe skips half an hour (02:00 to 02:30): an offset in it counts from 02:30, once that day
    var lordHowe = new RecurringBackup(2, ZoneId.of("Australia/Lord_Howe"), Duration.ofMinutes(10), null);
    LocalDate lhSpring = LocalDate.parse("2026-10-04");
    assertThat(lordHowe.fireTime(lhSpring).atZone(lordHowe.zone()).toLocalTime()).hasToString("02:40");
  }

  @Test
  void an_hour_repeated_by_fall_back_fires_once_at_its_first_occurrence() {
    // 2026-10-25 02:00 to 03:00 happens twice in Paris: first at UTC+2
    var schedule = new RecurringBackup(2, PARIS, Duration.ofMinutes(15), null);
    assertThat(schedule.fireTime(LocalDate.parse("2026-10-25"))).isEqualTo(Instant.parse("2026-10-25T00:15:00Z"));
    Instant afterFirst = Instant.parse("2026-10-25T00:15:00Z");
    assertThat(schedule.nextFireAfter(afterFirst)).isEqualTo(Instant.parse("2026-10-26T01:15:00Z"));
  }

  @Test
  void lord_howe_half_hour_shift_still_fires_once_per_local_day() {
    var schedule = new RecurringBackup(1, ZoneId.of("Australia/Lord_Howe"), Duration.ofMinutes(45), null);
    Set<LocalDate> days = new HashSet<>();
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    for (int i = 0; i < 400; i++) {
      t = schedule.nextFireAfter(t);
      assertThat(days.add(LocalDate.ofInstant(t, schedule.zone()))).isTrue();
    }
    assertThat(days).hasSize(400);
  }

  @Test
  void a_scheduler_down_for_three_days_owes_one_request_for_the_latest_day() {
    var schedule = new RecurringBackup(1, ZoneId.of("UTC"), Duration.ZERO, null);
    Instant backAt = Instant.parse("2026-11-21T10:00:00Z");
    assertThat(schedule.latestDueDate(backAt)).isEqualTo(LocalDate.parse("2026-11-21"));
    assertThat(schedule.nextFireAfter(backAt)).isEqualTo(Instant.parse("2026-11-22T01:00:00Z"));
    assertThat(schedule.latestDueDate(Instant.parse("2026-11-21T00:59:59Z"))).isEqualTo(LocalDate.parse("2026-11-20"));
  }

  @Test
  void addons_sharing_an_hour_spread_over_it_and_keep_their_minute() {
    Set<Long> minutes = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      var schedule = RecurringBackup.daily("addon-" + i, 1, PARIS);
      assertThat(schedule.offsetInHour()).isEqualTo(RecurringBackup.daily("addon-" + i, 1, PARIS).offsetInHour());
      minutes.add(schedule.offsetInHour().toMinutes());
    }
    assertThat(minutes).hasSizeGreaterThan(40);
  }

  @Test
  void hour_24_is_refused() {
    assertThatThrownBy(() -> new RecurringBackup(24, PARIS, Duration.ZERO, null)).hasMessageContaining("0 to 23");
  }

  @Test
  void scheduled_ids_are_stable_per_addon_day_and_kind() {
    var day = LocalDate.parse("2026-11-21");
    assertThat(ScheduledBackupId.of("a", day, "SCHEDULED")).isEqualTo(ScheduledBackupId.of("a", day, "SCHEDULED")).hasSize(24);
    assertThat(ScheduledBackupId.of("a", day, "SCHEDULED")).isNotEqualTo(ScheduledBackupId.of("a", day.plusDays(1), "SCHEDULED"));
    assertThat(ScheduledBackupId.of("a", day, "SCHEDULED")).isNotEqualTo(ScheduledBackupId.of("a", day, "PITR_BASE"));
    // retention reads the date back from the id with the same formula (retention-policy's ScheduledDates)
    assertThat(ScheduledBackupId.of("pg-nightly", LocalDate.parse("2026-03-17"), "SCHEDULED")).isEqualTo("747e599e9dcd40be8cc1f126");
  }

  @Test
  void weekly_base_backups_run_on_one_weekday_derived_from_the_addon() {
    var schedule = RecurringBackup.weekly("pg-1", 1, PARIS);
    assertThat(schedule.weekday()).isEqualTo(RecurringBackup.weekly("pg-1", 1, PARIS).weekday());
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    Set<java.time.DayOfWeek> days = new HashSet<>();
    for (int i = 0; i < 60; i++) {
      Instant next = schedule.nextFireAfter(t);
      if (i > 0) {
        assertThat(Duration.between(t, next)).isBetween(Duration.ofHours(167), Duration.ofHours(169));
      }
      days.add(LocalDate.ofInstant(next, PARIS).getDayOfWeek());
      t = next;
    }
    assertThat(days).containsExactly(schedule.weekday());
    assertThat(schedule.runsOn(schedule.latestDueDate(Instant.parse("2026-11-21T12:00:00Z")))).isTrue();
  }
}
