package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The plan table, scenario by scenario. */
class RetentionPolicyTest {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final Instant T0 = Instant.parse("2026-01-01T00:10:00Z");

  /** Daily scheduled backups at ~01:10 Paris for {@code days} days, as a live run would have pruned them. */
  private static List<StoredBackup> liveDailies(Plan plan, int days) {
    List<StoredBackup> live = new ArrayList<>();
    for (int d = 0; d < days; d++) {
      Instant at = T0.plus(Duration.ofDays(d));
      live.add(new StoredBackup("s" + d, BackupKind.SCHEDULED, true, at));
      var decision = RetentionPolicy.evaluate(plan, PARIS, at.plusSeconds(60), live);
      Set<String> gone = new HashSet<>();
      decision.pruned().forEach(p -> gone.add(p.backup().backupId()));
      live.removeIf(b -> gone.contains(b.backupId()));
    }
    return live;
  }

  private static long keptBy(RetentionDecision decision, String rule) {
    return decision.kept().values().stream().filter(rs -> rs.stream().anyMatch(r -> r.rule().equals(rule))).count();
  }

  private static List<StoredBackup> manualBackups(int count) {
    List<StoredBackup> backups = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      backups.add(new StoredBackup("m" + i, BackupKind.MANUAL, true, T0.plusSeconds(60L * i)));
    }
    return backups;
  }

  @Test
  void business_keeps_12_monthly_after_400_days_of_dailies() {
    List<StoredBackup> live = liveDailies(Plan.BUSINESS, 400);
    Instant now = T0.plus(Duration.ofDays(399)).plusSeconds(60);
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, PARIS, now, live);

    assertThat(decision.pruned()).isEmpty();
    assertThat(keptBy(decision, "daily")).isEqualTo(7);
    assertThat(keptBy(decision, "weekly")).isEqualTo(8);
    assertThat(keptBy(decision, "monthly")).isEqualTo(12);
    // some backups stand for a day, a week and a month at once
    assertThat(live.size()).isLessThanOrEqualTo(7 + 8 + 12).isGreaterThanOrEqualTo(12 + 5);
  }

  @Test
  void starter_keeps_7_daily_and_4_weekly_and_no_monthly_after_60_days_of_dailies() {
    List<StoredBackup> live = liveDailies(Plan.STARTER, 60);
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, T0.plus(Duration.ofDays(59)).plusSeconds(60), live);
    assertThat(keptBy(decision, "daily")).isEqualTo(7);
    assertThat(keptBy(decision, "weekly")).isEqualTo(4);
    assertThat(keptBy(decision, "monthly")).isZero();
    assertThat(live).hasSizeBetween(7, 11);
  }

  @Test
  void starter_downgraded_from_business_drops_monthlies() {
    List<StoredBackup> live = liveDailies(Plan.BUSINESS, 200);
    Instant now = T0.plus(Duration.ofDays(199)).plusSeconds(120);
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, now, live);

    assertThat(keptBy(decision, "monthly")).isZero();
    assertThat(decision.pruned()).isNotEmpty()
        .allMatch(p -> p.reason().equals("periodic: represents no day, week or month the starter plan still keeps"))
        .allMatch(p -> p.backup().takenAt().isBefore(now.minus(Duration.ofDays(7))));
    assertThat(decision.kept()).hasSizeLessThanOrEqualTo(7 + 4);
  }

  @Test
  void removed_business_addon_ages_out_to_its_monthlies_in_8_weeks() {
    List<StoredBackup> live = liveDailies(Plan.BUSINESS, 100);
    // removed after day 100: no new backups; evaluated 8 weeks and a day later
    Instant later = T0.plus(Duration.ofDays(100 + 8 * 7 + 1));
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, PARIS, later, live);

    assertThat(keptBy(decision, "daily")).isZero();
    assertThat(keptBy(decision, "weekly")).isZero();
    assertThat(keptBy(decision, "monthly")).isEqualTo(4); // January to April 2026, within 12 months
    assertThat(keptBy(decision, "newest")).isEqualTo(1);
  }

  @Test
  void removed_starter_addon_ages_out_to_its_newest_backup_in_4_weeks() {
    List<StoredBackup> live = liveDailies(Plan.STARTER, 30);
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, T0.plus(Duration.ofDays(30 + 5 * 7)), live);
    assertThat(decision.kept()).hasSize(1);
    assertThat(decision.kept().get("s29")).extracting(RetentionDecision.Reason::rule).containsExactly("newest");
  }

  @Test
  void a_period_is_represented_by_its_first_successful_backup_and_failures_represent_nothing() {
    Instant day = Instant.parse("2026-03-10T00:10:00Z");
    List<StoredBackup> backups = List.of(
        new StoredBackup("failed", BackupKind.SCHEDULED, false, day),
        new StoredBackup("first-ok", BackupKind.SCHEDULED, true, day.plusSeconds(3600)),
        new StoredBackup("second-ok", BackupKind.SCHEDULED, true, day.plusSeconds(7200)),
        new StoredBackup("manual", BackupKind.MANUAL, true, day.plusSeconds(10)));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, day.plusSeconds(9000), backups);

    assertThat(decision.kept().get("first-ok")).extracting(RetentionDecision.Reason::text)
        .contains("daily: represents 2026-03-10", "weekly: represents the week of 2026-03-09");
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
    assertThat(decision.expiresAt("b")).isNull(); // the newest success has no end date
  }

  @Test
  void expiry_is_the_end_of_the_longest_window_keeping_it() {
    List<StoredBackup> live = liveDailies(Plan.STARTER, 3);
    var decision = RetentionPolicy.evaluate(Plan.STARTER, PARIS, T0.plus(Duration.ofDays(2)).plusSeconds(60), live);
    // s0 was taken on Thursday 2026-01-01 (Paris): daily until 2026-01-08, weekly (week of 2025-12-29) until 2026-01-26
    assertThat(decision.expiresAt("s0")).isEqualTo(LocalDate.parse("2026-01-26").atStartOfDay(PARIS).toInstant());
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
  void business_keeps_the_last_50_manual_backups() {
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, PARIS, T0.plusSeconds(7200), manualBackups(60));
    assertThat(decision.kept()).hasSize(50);
    assertThat(decision.pruned()).hasSize(10);
  }

  @Test
  void sandbox_downgrade_keeps_only_the_newest_successful_backup() {
    var decision = RetentionPolicy.evaluate(Plan.SANDBOX, PARIS, T0.plusSeconds(3600), manualBackups(3));
    assertThat(decision.kept()).containsOnlyKeys("m2");
    assertThat(decision.pruned()).allMatch(p -> p.reason().equals("manual: the sandbox plan keeps no manual backups"));
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
