package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Point-in-time recovery's bases and restores, scenario by scenario, through the whole policy. */
class PitrRetentionTest {

  private static final ZoneId UTC = ZoneId.of("UTC");
  private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

  private static StoredBackup base(String id, Instant endTime) {
    // pg_basebackup ran for ten minutes before it ended
    return new StoredBackup(id, BackupKind.PITR_BASE, true, endTime.minus(Duration.ofMinutes(10)), null, endTime);
  }

  private static Instant daysAgo(double days) {
    return NOW.minus(Duration.ofMinutes(Math.round(days * 24 * 60)));
  }

  private static Map<String, List<String>> texts(RetentionDecision decision) {
    return decision.kept().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
        e -> e.getValue().stream().map(RetentionDecision.Reason::text).toList()));
  }

  private static Map<String, String> prunedReasons(RetentionDecision decision) {
    return decision.pruned().stream().collect(Collectors.toMap(p -> p.backup().backupId(), RetentionDecision.Pruned::reason));
  }

  @Test
  void weekly_bases_keep_the_newest_one_ended_before_the_window_and_every_later_one_and_prune_the_older() {
    List<StoredBackup> bases = List.of(base("w1", daysAgo(20)), base("w2", daysAgo(13)), base("w3", daysAgo(7.5)),
        base("w4", daysAgo(0.5)));

    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, NOW, bases);

    assertThat(texts(decision)).isEqualTo(Map.of(
        "w3", List.of("oldest base of the 7-day window"),
        "w4", List.of("base inside the 7-day window")));
    assertThat(prunedReasons(decision)).isEqualTo(Map.of(
        "w1", "point-in-time base: older than the oldest base of the 7-day window",
        "w2", "point-in-time base: older than the oldest base of the 7-day window"));
    assertThat(decision.expiresAt("w3")).isNull(); // until a newer base ends before the window starts
  }

  @Test
  void a_base_that_started_before_the_window_but_ended_inside_it_is_not_the_oldest_base_its_predecessor_is() {
    // started 7 days and 5 minutes ago, ended 6 days 23 h 55 min ago: instants before its end need the previous base
    List<StoredBackup> bases = List.of(base("older", daysAgo(14)),
        new StoredBackup("straddling", BackupKind.PITR_BASE, true, NOW.minus(Duration.ofDays(7)).minusSeconds(300), null,
            NOW.minus(Duration.ofDays(7)).plusSeconds(300)));

    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, UTC, NOW, bases);

    assertThat(texts(decision)).isEqualTo(Map.of(
        "older", List.of("oldest base of the 7-day window"),
        "straddling", List.of("base inside the 7-day window")));
  }

  @Test
  void a_new_addon_with_only_bases_inside_the_window_keeps_them_all() {
    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, NOW, List.of(base("first", daysAgo(3)), base("gap", daysAgo(1))));

    assertThat(decision.kept().keySet()).containsExactlyInAnyOrder("first", "gap");
    assertThat(decision.pruned()).isEmpty();
  }

  @Test
  void bases_are_neither_daily_nor_weekly_copies_nor_the_newest_backup_and_do_not_push_dumps_out() {
    List<StoredBackup> backups = new ArrayList<>();
    backups.add(new StoredBackup("dump-today", BackupKind.SCHEDULED, true, daysAgo(0.2)));
    backups.add(base("base-old", daysAgo(30)));
    backups.add(base("base-recent", daysAgo(0.1)));

    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, NOW, backups);

    assertThat(texts(decision).get("dump-today")).contains("newest successful backup");
    assertThat(texts(decision).get("base-recent")).containsExactly("base inside the 7-day window");
    // the only base ended before the window: it is the one restores to the window's start replay from
    assertThat(texts(decision).get("base-old")).containsExactly("oldest base of the 7-day window");
  }

  @Test
  void a_point_in_time_restore_is_kept_7_days_then_pruned() {
    StoredBackup fresh = new StoredBackup("restore-1", BackupKind.PITR_RESTORE, true, daysAgo(2));
    StoredBackup old = new StoredBackup("restore-0", BackupKind.PITR_RESTORE, true, daysAgo(8));

    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, UTC, NOW, List.of(fresh, old));

    assertThat(texts(decision)).isEqualTo(Map.of("restore-1", List.of("point-in-time restore, kept 7 days")));
    assertThat(decision.expiresAt("restore-1")).isEqualTo(daysAgo(2).plus(Duration.ofDays(7)));
    assertThat(prunedReasons(decision)).isEqualTo(Map.of("restore-0", "point-in-time restore: older than 7 days"));
  }

  @Test
  void a_failed_base_shows_its_record_7_days_like_any_failed_backup() {
    StoredBackup failed = new StoredBackup("base-failed", BackupKind.PITR_BASE, false, daysAgo(1));

    var decision = RetentionPolicy.evaluate(Plan.STARTER, UTC, NOW, List.of(failed));

    assertThat(texts(decision)).isEqualTo(Map.of("base-failed", List.of("failed: record shown for 7 days")));
  }

  @Test
  void an_addon_moved_to_sandbox_keeps_the_window_it_had_for_7_days_then_its_bases_go() {
    Instant stop = daysAgo(3);
    PlanHistory plans = new PlanHistory(List.of(new PlanHistory.Change(Instant.MIN, Plan.STARTER),
        new PlanHistory.Change(stop, Plan.SANDBOX)));
    List<StoredBackup> bases = List.of(base("before-window", daysAgo(12)), base("in-window", daysAgo(5)));

    var within = RetentionPolicy.evaluate(plans, UTC, NOW, bases, List.of());
    assertThat(within.kept().keySet()).containsExactlyInAnyOrder("before-window", "in-window");
    assertThat(texts(within).get("in-window")).containsExactly(
        "base inside the 7-day window before the addon stopped taking backups on " + stop.atZone(UTC).toLocalDate());
    assertThat(within.expiresAt("in-window")).isEqualTo(stop.plus(Duration.ofDays(7)));

    var after = RetentionPolicy.evaluate(plans, UTC, stop.plus(Duration.ofDays(7)).plusSeconds(1), bases, List.of());
    assertThat(after.kept()).isEmpty();
    assertThat(prunedReasons(after).values()).containsOnly("point-in-time base: the addon stopped taking backups more than 7 days ago");
  }

  @Test
  void a_base_pruned_earlier_still_counts_so_a_replay_decides_the_same() {
    StoredBackup gone = base("w1", daysAgo(20));
    List<StoredBackup> live = List.of(base("w2", daysAgo(13)), base("w3", daysAgo(6)));

    var decision = RetentionPolicy.evaluate(PlanHistory.always(Plan.STARTER), UTC, NOW, live, List.of(gone));

    assertThat(texts(decision)).isEqualTo(Map.of(
        "w2", List.of("oldest base of the 7-day window"),
        "w3", List.of("base inside the 7-day window")));
  }
}
