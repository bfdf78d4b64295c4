package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The plan table, scenario by scenario, and each reported case under its own name. */
class RetentionPolicyTest {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final ZoneOffset UTC = ZoneOffset.UTC;
  private static final Instant T0 = Instant.parse("2026-01-01T00:10:00Z");

  /** A live run: daily scheduled backups at ~01:10 Paris for {@code days} days, evaluated after each; what is left and what went. */
  private record Run(List<StoredBackup> live, List<StoredBackup> deleted) {}

  private static Run liveDailies(PlanHistory plans, int days) {
    List<StoredBackup> live = new ArrayList<>();
    List<StoredBackup> deleted = new ArrayList<>();
    for (int d = 0; d < days; d++) {
      Instant at = T0.plus(Duration.ofDays(d));
      live.add(new StoredBackup("s" + d, BackupKind.SCHEDULED, true, at, LocalDate.ofInstant(at, PARIS)));
      prune(plans, PARIS, at.plusSeconds(60), live, deleted);
    }
    return new Run(live, deleted);
  }

  private static RetentionDecision prune(PlanHistory plans, ZoneId zone, Instant now, List<StoredBackup> live, List<StoredBackup> deleted) {
    var decision = RetentionPolicy.evaluate(plans, zone, now, live, deleted);
    Set<String> gone = new HashSet<>();
    decision.pruned().forEach(p -> gone.add(p.backup().backupId()));
    live.stream().filter(b -> gone.contains(b.backupId())).forEach(deleted::add);
    live.removeIf(b -> gone.contains(b.backupId()));
    return decision;
  }

  private static long keptBy(RetentionDecision decision, String rule) {
    return decision.kept().values().stream().filter(rs -> rs.stream().anyMatch(r -> r.rule().equals(rule))).count();
  }

  private static List<Instant> takenAtOfKeptBy(RetentionDecision decision, List<StoredBackup> backups, String rule) {
    return backups.stream()
        .filter(b -> decision.kept().getOrDefault(b.backupId(), List.of()).stream().anyMatch(r -> r.rule().equals(rule)))
        .map(StoredBackup::takenAt).sorted().toList();
  }

  private static List<StoredBackup> manualBackups(int count) {
    List<StoredBackup> backups = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      backups.add(new StoredBackup("m" + i, BackupKind.MANUAL, true, T0.plusSeconds(60L * i)));
    }
    return backups;
  }

  /** A scheduled backup for {@code date} (UTC) taken at {@code time} on {@code takenOn}. */
  private static StoredBackup scheduled(LocalDate date, LocalDate takenOn, String time) {
    return new StoredBackup("s" + date, BackupKind.SCHEDULED, true, takenOn.atTime(LocalTime.parse(time)).toInstant(UTC), date);
  }

  private static List<StoredBackup> dailyAt(String time, LocalDate from, LocalDate to) {
    List<StoredBackup> backups = new ArrayList<>();
    for (LocalDate d = from; !d.isAfter(to); d = d.plusDays(1)) {
      backups.add(scheduled(d, d, time));
    }
    return backups;
  }

  private static PlanHistory history(Object... instantsAndPlans) {
    List<PlanHistory.Change> changes = new ArrayList<>();
    for (int i = 0; i < instantsAndPlans.length; i += 2) {
      changes.add(new PlanHistory.Change((Instant) instantsAndPlans[i], (Plan) instantsAndPlans[i + 1]));
    }
    return new PlanHistory(changes);
  }

  private static void assertSpacedAtMost(List<Instant> copies, Duration period) {
    for (int i = 1; i < copies.size(); i++) {
      assertThat(Duration.between(copies.get(i - 1), copies.get(i))).as("between %s and %s", copies.get(i - 1), copies.get(i))
          .isLessThanOrEqualTo(period);
    }
  }

  // ---- the reported cases (issue #14) ----

  @Test
  void daily_backups_younger_than_7_days_are_kept() {
    // Starter, UTC, daily backups at 17:00 from 03-08 to 03-17, evaluated 03-18 10:00Z
    List<StoredBackup> backups = dailyAt("17:00", LocalDate.parse("2026-03-08"), LocalDate.parse("2026-03-17"));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, Instant.parse("2026-03-18T10:00:00Z"), backups);

    // the 03-11 backup is 6 days 17 hours old
    assertThat(decision.kept().get("s2026-03-11")).extracting(RetentionDecision.Reason::rule).contains("daily");
    assertThat(keptBy(decision, "daily")).isEqualTo(7);
    assertThat(decision.expiresAt("s2026-03-11")).isEqualTo(Instant.parse("2026-03-18T17:00:00Z"));
  }

  @Test
  void a_late_run_does_not_delete_the_next_days_backup() {
    List<StoredBackup> backups = new ArrayList<>(List.of(
        scheduled(LocalDate.parse("2026-03-16"), LocalDate.parse("2026-03-16"), "23:40"),
        scheduled(LocalDate.parse("2026-03-17"), LocalDate.parse("2026-03-18"), "00:20"), // the 17th's, late
        scheduled(LocalDate.parse("2026-03-18"), LocalDate.parse("2026-03-18"), "23:40"),
        new StoredBackup("manual", BackupKind.MANUAL, true, Instant.parse("2026-03-19T07:00:00Z"))));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, Instant.parse("2026-03-19T08:00:00Z"), backups);

    assertThat(decision.pruned()).isEmpty();
    assertThat(decision.kept().get("s2026-03-18")).extracting(RetentionDecision.Reason::text).contains("daily: represents 2026-03-18");
    assertThat(decision.kept().get("s2026-03-17")).extracting(RetentionDecision.Reason::text).contains("daily: represents 2026-03-17");
  }

  @Test
  void weekly_copies_stay_about_7_days_apart_across_a_gap() {
    // daily 03-23..03-29, none 03-30..04-02, daily 04-03..04-14
    List<StoredBackup> backups = new ArrayList<>(dailyAt("01:10", LocalDate.parse("2026-03-23"), LocalDate.parse("2026-03-29")));
    backups.addAll(dailyAt("01:10", LocalDate.parse("2026-04-03"), LocalDate.parse("2026-04-14")));
    Instant now = Instant.parse("2026-04-14T02:00:00Z");
    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, now, backups);

    List<Instant> weekly = takenAtOfKeptBy(decision, backups, "weekly");
    assertThat(weekly).anyMatch(at -> !at.isBefore(Instant.parse("2026-03-24T00:00:00Z")) && at.isBefore(Instant.parse("2026-03-30T00:00:00Z")));
    assertSpacedAtMost(weekly, Duration.ofDays(7));
    // every kept copy, whatever keeps it: no stretch of more than 7 days without one while backups existed
    List<Instant> kept = backups.stream().filter(b -> decision.kept().containsKey(b.backupId())).map(StoredBackup::takenAt).sorted().toList();
    assertSpacedAtMost(kept, Duration.ofDays(7));
  }

  @Test
  void monthly_copies_stay_about_a_month_apart_across_a_gap() {
    // Business, daily backups, none 01-01..01-09
    List<StoredBackup> backups = new ArrayList<>(dailyAt("01:10", LocalDate.parse("2025-11-01"), LocalDate.parse("2025-12-31")));
    backups.addAll(dailyAt("01:10", LocalDate.parse("2026-01-10"), LocalDate.parse("2026-04-30")));
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, UTC, Instant.parse("2026-04-30T02:00:00Z"), backups);

    List<Instant> monthly = takenAtOfKeptBy(decision, backups, "monthly");
    assertThat(monthly).anyMatch(at -> at.isAfter(Instant.parse("2025-12-02T00:00:00Z")) && at.isBefore(Instant.parse("2026-01-01T00:00:00Z")));
    assertSpacedAtMost(monthly, Duration.ofDays(31));
  }

  @Test
  void a_downgrade_to_sandbox_keeps_nothing_without_an_expiry() {
    Instant downgrade = T0.plus(Duration.ofDays(40)).plusSeconds(3600);
    PlanHistory plans = history(Instant.MIN, Plan.STARTER, downgrade, Plan.SANDBOX);
    Run run = liveDailies(PlanHistory.always(Plan.STARTER), 41);
    List<StoredBackup> live = new ArrayList<>(run.live());
    live.addAll(manualBackups(3));

    var decision = prune(plans, PARIS, downgrade.plus(Duration.ofDays(1)), live, new ArrayList<>(run.deleted()));
    assertThat(decision.kept()).isNotEmpty().allSatisfy((id, reasons) -> {
      assertThat(decision.expiresAt(id)).as(id).isNotNull();
      assertThat(reasons).noneMatch(r -> r.rule().equals("newest"));
    });
    assertThat(decision.kept().get("s40")).extracting(RetentionDecision.Reason::text)
        .contains("daily: represents 2026-02-10 (taken under the starter plan)")
        .anyMatch(text -> text.startsWith("stopped: the addon moved to the sandbox plan on 2026-02-10"));
    // the newest and the manual backups stay 4 weeks from the change, as long as Starter keeps its oldest copies
    assertThat(decision.expiresAt("s40")).isEqualTo(downgrade.atZone(PARIS).plusWeeks(4).toInstant());
    assertThat(decision.expiresAt("m2")).isEqualTo(downgrade.atZone(PARIS).plusWeeks(4).toInstant());

    var later = RetentionPolicy.evaluate(plans, PARIS, downgrade.plus(Duration.ofDays(28)).plusSeconds(1), live, run.deleted());
    assertThat(later.kept()).isEmpty();
  }

  @Test
  void sandbox_keeps_no_failed_records() {
    PlanHistory plans = history(Instant.MIN, Plan.STARTER, T0, Plan.SANDBOX);
    List<StoredBackup> backups = List.of(
        new StoredBackup("under-starter", BackupKind.SCHEDULED, false, T0.minusSeconds(3600)),
        new StoredBackup("under-sandbox", BackupKind.SCHEDULED, false, T0.plusSeconds(3600)));
    var decision = RetentionPolicy.evaluate(plans, PARIS, T0.plus(Duration.ofDays(1)), backups, List.of());

    assertThat(decision.pruned()).extracting(p -> p.backup().backupId()).containsExactly("under-sandbox");
    assertThat(decision.pruned().get(0).reason()).isEqualTo("failed: taken under the sandbox plan, which keeps no backups");
    assertThat(decision.expiresAt("under-starter")).isEqualTo(T0.minusSeconds(3600).plus(Duration.ofDays(7)));
  }

  @Test
  void scheduled_dates_are_read_back_from_the_scheduler_ids() {
    // the id ScheduledBackupId.of("pg-nightly", 2026-03-17, "SCHEDULED") gives (pinned in the scheduler's tests too)
    String id = "747e599e9dcd40be8cc1f126";
    assertThat(ScheduledDates.derive("pg-nightly", id, BackupKind.SCHEDULED, Instant.parse("2026-03-18T00:20:00Z")))
        .isEqualTo(LocalDate.parse("2026-03-17"));
    assertThat(ScheduledDates.derive("pg-nightly", id, BackupKind.SCHEDULED, Instant.parse("2026-03-16T23:00:00Z")))
        .as("an early run, or a zone behind UTC").isEqualTo(LocalDate.parse("2026-03-17"));
    assertThat(ScheduledDates.derive("another-addon", id, BackupKind.SCHEDULED, Instant.parse("2026-03-18T00:20:00Z"))).isNull();
    assertThat(ScheduledDates.derive("pg-nightly", id, BackupKind.MANUAL, Instant.parse("2026-03-18T00:20:00Z"))).isNull();
  }

  // ---- the plan table ----

  @Test
  void business_keeps_12_monthly_after_400_days_of_dailies() {
    Run run = liveDailies(PlanHistory.always(Plan.BUSINESS), 400);
    Instant now = T0.plus(Duration.ofDays(399)).plusSeconds(60);
    var decision = RetentionPolicy.evaluate(PlanHistory.always(Plan.BUSINESS), PARIS, now, run.live(), run.deleted());

    assertThat(decision.pruned()).isEmpty();
    assertThat(keptBy(decision, "daily")).isEqualTo(7);
    assertThat(keptBy(decision, "weekly")).isEqualTo(8);
    assertThat(keptBy(decision, "monthly")).isEqualTo(12);
    // some backups stand for a day, a week and a month at once
    assertThat(run.live().size()).isLessThanOrEqualTo(7 + 8 + 12).isGreaterThanOrEqualTo(12 + 5);
  }

  @Test
  void starter_keeps_7_daily_and_4_weeks_of_weekly_copies_and_no_monthly_after_60_days_of_dailies() {
    Run run = liveDailies(PlanHistory.always(Plan.STARTER), 60);
    var decision = RetentionPolicy.evaluate(PlanHistory.always(Plan.STARTER), PARIS, T0.plus(Duration.ofDays(59)).plusSeconds(60),
        run.live(), run.deleted());
    assertThat(keptBy(decision, "daily")).isEqualTo(7);
    assertThat(keptBy(decision, "weekly")).isEqualTo(4);
    assertThat(takenAtOfKeptBy(decision, run.live(), "weekly").get(0)).isAfter(T0.plus(Duration.ofDays(59 - 28)));
    assertThat(keptBy(decision, "monthly")).isZero();
    assertThat(run.live()).hasSizeBetween(7, 11);
  }

  @Test
  void a_downgrade_to_starter_keeps_the_backups_taken_under_business_by_business_rules() {
    Instant downgrade = T0.plus(Duration.ofDays(199)).plusSeconds(90);
    PlanHistory plans = history(Instant.MIN, Plan.BUSINESS, downgrade, Plan.STARTER);
    Run run = liveDailies(PlanHistory.always(Plan.BUSINESS), 200);
    var decision = RetentionPolicy.evaluate(plans, PARIS, downgrade.plusSeconds(30), run.live(), run.deleted());

    assertThat(decision.pruned()).isEmpty();
    assertThat(keptBy(decision, "monthly")).isEqualTo(7);
    assertThat(decision.kept().get("s0")).extracting(RetentionDecision.Reason::text)
        .containsExactly("monthly: represents the month from 2026-01-01 (taken under the business plan)");
  }

  @Test
  void removed_business_addon_ages_out_to_its_monthlies_in_8_weeks() {
    Instant removal = T0.plus(Duration.ofDays(100));
    PlanHistory plans = history(Instant.MIN, Plan.BUSINESS, removal, null);
    Run run = liveDailies(PlanHistory.always(Plan.BUSINESS), 100);
    // removed after day 100: no new backups; evaluated 8 weeks and a day later
    var decision = RetentionPolicy.evaluate(plans, PARIS, removal.plus(Duration.ofDays(8 * 7 + 1)), run.live(), run.deleted());

    assertThat(keptBy(decision, "daily")).isZero();
    assertThat(keptBy(decision, "weekly")).isZero();
    // 01-01, 02-01, 03-01, 04-01 and the last backup (04-10), the copy of the month under way
    assertThat(keptBy(decision, "monthly")).isEqualTo(5);
    assertThat(keptBy(decision, "newest")).isZero();
    assertThat(decision.kept().get("s99")).extracting(RetentionDecision.Reason::rule).containsExactlyInAnyOrder("monthly", "stopped");
    assertThat(decision.kept().keySet()).allMatch(id -> decision.expiresAt(id) != null);
  }

  @Test
  void removed_starter_addon_ages_out_entirely_4_weeks_after_its_removal() {
    Instant removal = T0.plus(Duration.ofDays(30));
    PlanHistory plans = history(Instant.MIN, Plan.STARTER, removal, null);
    Run run = liveDailies(PlanHistory.always(Plan.STARTER), 30);

    var meanwhile = RetentionPolicy.evaluate(plans, PARIS, removal.plus(Duration.ofDays(26)), run.live(), run.deleted());
    assertThat(meanwhile.kept().get("s29")).extracting(RetentionDecision.Reason::rule).containsExactlyInAnyOrder("weekly", "stopped");
    assertThat(meanwhile.expiresAt("s29")).isEqualTo(removal.atZone(PARIS).plusWeeks(4).toInstant());

    var after = RetentionPolicy.evaluate(plans, PARIS, removal.plus(Duration.ofDays(28)).plusSeconds(1), run.live(), run.deleted());
    assertThat(after.kept()).isEmpty();
  }

  @Test
  void a_day_is_represented_by_its_first_successful_backup_and_failures_represent_nothing() {
    Instant day = Instant.parse("2026-03-10T00:10:00Z");
    List<StoredBackup> backups = List.of(
        new StoredBackup("failed", BackupKind.SCHEDULED, false, day),
        new StoredBackup("first-ok", BackupKind.SCHEDULED, true, day.plusSeconds(3600)),
        new StoredBackup("second-ok", BackupKind.SCHEDULED, true, day.plusSeconds(7200)),
        new StoredBackup("manual", BackupKind.MANUAL, true, day.plusSeconds(10)));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, day.plusSeconds(9000), backups);

    assertThat(decision.kept().get("first-ok")).extracting(RetentionDecision.Reason::text)
        .contains("daily: represents 2026-03-10", "weekly: represents the 7 days from 2026-03-10");
    assertThat(decision.kept().get("second-ok")).extracting(RetentionDecision.Reason::rule).containsExactly("newest");
    assertThat(decision.kept().get("failed")).extracting(RetentionDecision.Reason::rule).containsExactly("failed");
    assertThat(decision.kept().get("manual")).extracting(RetentionDecision.Reason::rule).containsExactly("manual");
  }

  @Test
  void failed_records_are_kept_a_week_then_pruned() {
    Instant at = Instant.parse("2026-03-10T00:10:00Z");
    List<StoredBackup> backups = List.of(new StoredBackup("f", BackupKind.SCHEDULED, false, at));
    assertThat(RetentionPolicy.evaluate(Plan.STARTER, PARIS, at.plus(Duration.ofDays(6)), backups).pruned()).isEmpty();
    var after = RetentionPolicy.evaluate(Plan.STARTER, PARIS, at.plus(Duration.ofDays(7)), backups);
    assertThat(after.pruned()).extracting(RetentionDecision.Pruned::reason).containsExactly("failed: record older than 7 days");
  }

  @Test
  void days_are_local_to_the_addons_zone() {
    // 23:30 UTC on the 9th is already the 10th in Paris
    Instant lateUtc = Instant.parse("2026-03-09T23:30:00Z");
    List<StoredBackup> backups = List.of(new StoredBackup("b", BackupKind.SCHEDULED, true, lateUtc));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, lateUtc.plusSeconds(60), backups);
    assertThat(decision.kept().get("b")).extracting(RetentionDecision.Reason::text).contains("daily: represents 2026-03-10");
    assertThat(decision.expiresAt("b")).isNull(); // the newest success stays until a newer one succeeds
  }

  @Test
  void expiry_is_the_end_of_the_longest_window_keeping_it() {
    Run run = liveDailies(PlanHistory.always(Plan.STARTER), 3);
    var decision = RetentionPolicy.evaluate(PlanHistory.always(Plan.STARTER), PARIS, T0.plus(Duration.ofDays(2)).plusSeconds(60),
        run.live(), run.deleted());
    // s0, the first weekly copy: daily for 7 days, weekly for 4 weeks after it was taken
    assertThat(decision.expiresAt("s0")).isEqualTo(T0.plus(Duration.ofDays(28)));
  }

  @Test
  void starter_keeps_the_last_10_manual_backups_and_prunes_the_11th_oldest() {
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, T0.plusSeconds(3600), manualBackups(11));
    assertThat(decision.pruned()).extracting(p -> p.backup().backupId()).containsExactly("m0");
    assertThat(decision.pruned().get(0).reason()).isEqualTo("manual: beyond the last 10 kept by the starter plan");
    assertThat(decision.kept().get("m10")).extracting(RetentionDecision.Reason::text)
        .contains("newest successful backup", "manual: 1st newest of the last 10 kept by the starter plan");
  }

  @Test
  void deleted_manual_backups_still_count_among_the_last_10() {
    List<StoredBackup> all = manualBackups(12);
    var decision = RetentionPolicy.evaluate(PlanHistory.always(Plan.STARTER), PARIS, T0.plusSeconds(3600), all.subList(1, 12),
        all.subList(0, 1));
    assertThat(decision.pruned()).extracting(p -> p.backup().backupId()).containsExactly("m1");
  }

  @Test
  void business_keeps_the_last_50_manual_backups() {
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, PARIS, T0.plusSeconds(7200), manualBackups(60));
    assertThat(decision.kept()).hasSize(50);
    assertThat(decision.pruned()).hasSize(10);
  }

  @Test
  void the_outcome_does_not_depend_on_the_order_backups_are_given_in() {
    List<StoredBackup> backups = new ArrayList<>(manualBackups(25));
    for (int d = 0; d < 40; d++) {
      backups.add(new StoredBackup("s" + d, BackupKind.SCHEDULED, d % 5 != 0, T0.plus(Duration.ofDays(d))));
    }
    Instant now = T0.plus(Duration.ofDays(40));
    var sorted = RetentionPolicy.evaluate(Plan.STARTER, PARIS, now, backups);
    Collections.shuffle(backups, new Random(7));
    var shuffled = RetentionPolicy.evaluate(Plan.STARTER, PARIS, now, backups);
    assertThat(shuffled.pruned()).isEqualTo(sorted.pruned());
    assertThat(shuffled.kept()).isEqualTo(sorted.kept());
  }
}
