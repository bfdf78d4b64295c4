package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Simulated years of daily backups with random failures, manual backups and plan changes, evaluated as
 * a live run does after each backup: the policy's promises hold at every step.
 */
class RetentionPropertiesTest {

  private static final Instant START = Instant.parse("2025-01-01T00:00:00Z");

  @Provide
  Arbitrary<ZoneId> zones() {
    return Arbitraries.of(ZoneId.of("Europe/Paris"), ZoneId.of("America/New_York"), ZoneId.of("Australia/Lord_Howe"), ZoneId.of("UTC"));
  }

  @Property(tries = 40)
  void a_live_run_keeps_its_promises_at_every_step(@ForAll @IntRange(min = 30, max = 730) int days,
      @ForAll("zones") ZoneId zone, @ForAll long seed) {
    Random random = new Random(seed);
    Plan plan = random.nextBoolean() ? Plan.BUSINESS : Plan.STARTER;
    List<StoredBackup> live = new ArrayList<>();
    List<StoredBackup> history = new ArrayList<>();
    int n = 0;
    for (int d = 0; d < days; d++) {
      if (random.nextInt(90) == 0) {
        plan = Plan.values()[random.nextInt(3)];
      }
      Instant day = START.plus(Duration.ofDays(d)).plusSeconds(random.nextInt(3600));
      List<StoredBackup> today = new ArrayList<>();
      today.add(new StoredBackup("b" + n++, BackupKind.SCHEDULED, random.nextInt(8) != 0, day));
      for (int m = random.nextInt(4) == 0 ? random.nextInt(4) : 0; m > 0; m--) {
        today.add(new StoredBackup("b" + n++, BackupKind.MANUAL, random.nextInt(10) != 0, day.plusSeconds(600L * m)));
      }
      for (StoredBackup backup : today) {
        live.add(backup);
        history.add(backup);
        Instant now = backup.takenAt().plusSeconds(30);
        RetentionDecision decision = RetentionPolicy.evaluate(plan, zone, now, live);
        check(plan, decision, live);
        Set<String> pruned = decision.pruned().stream().map(p -> p.backup().backupId()).collect(Collectors.toSet());
        live.removeIf(b -> pruned.contains(b.backupId()));

        RetentionDecision again = RetentionPolicy.evaluate(plan, zone, now, live);
        assertThat(again.pruned()).as("evaluating twice changes nothing").isEmpty();
        assertThat(again.kept().keySet()).containsExactlyInAnyOrderElementsOf(decision.kept().keySet());
      }
    }
  }

  @Property(tries = 40)
  void evaluating_part_of_the_history_never_deletes_what_the_whole_history_keeps(
      @ForAll @IntRange(min = 10, max = 400) int days, @ForAll @IntRange(min = 1, max = 100) int percentKnown,
      @ForAll("zones") ZoneId zone, @ForAll long seed) {
    Random random = new Random(seed);
    Plan plan = Plan.values()[1 + random.nextInt(2)];
    List<StoredBackup> history = new ArrayList<>();
    for (int d = 0; d < days; d++) {
      Instant at = START.plus(Duration.ofDays(d)).plusSeconds(random.nextInt(7200));
      history.add(new StoredBackup("s" + d, BackupKind.SCHEDULED, random.nextInt(6) != 0, at));
      if (random.nextInt(3) == 0) {
        history.add(new StoredBackup("m" + d, BackupKind.MANUAL, true, at.plusSeconds(300)));
      }
    }
    history.sort(Comparator.comparing(StoredBackup::takenAt));
    Instant now = history.get(history.size() - 1).takenAt().plusSeconds(60);
    // a replay that has read the first part of the events so far, evaluated with today's clock
    List<StoredBackup> prefix = history.subList(0, Math.max(1, history.size() * percentKnown / 100));

    Set<String> keptByWhole = RetentionPolicy.evaluate(plan, zone, now, history).kept().keySet();
    RetentionPolicy.evaluate(plan, zone, now, prefix).pruned()
        .forEach(p -> assertThat(keptByWhole).as("pruned from a partial history").doesNotContain(p.backup().backupId()));
  }

  private static void check(Plan plan, RetentionDecision decision, List<StoredBackup> live) {
    PlanLimits limits = PlanLimits.of(plan);
    Map<String, Long> perRule = decision.kept().values().stream().flatMap(List::stream)
        .collect(Collectors.groupingBy(RetentionDecision.Reason::rule, Collectors.counting()));
    assertThat(perRule.getOrDefault("newest", 0L)).isLessThanOrEqualTo(1);
    assertThat(perRule.getOrDefault("daily", 0L)).isLessThanOrEqualTo(limits.dailyDays());
    assertThat(perRule.getOrDefault("weekly", 0L)).isLessThanOrEqualTo(limits.weeklyWeeks());
    assertThat(perRule.getOrDefault("monthly", 0L)).isLessThanOrEqualTo(limits.monthlyMonths());
    assertThat(perRule.getOrDefault("manual", 0L)).isLessThanOrEqualTo(limits.manual());

    Set<String> all = new HashSet<>();
    live.forEach(b -> all.add(b.backupId()));
    Set<String> decided = new HashSet<>(decision.kept().keySet());
    decision.pruned().forEach(p -> decided.add(p.backup().backupId()));
    assertThat(decided).as("every backup is kept for a reason or pruned with one").isEqualTo(all);
    assertThat(decision.kept().values()).allMatch(reasons -> !reasons.isEmpty());

    live.stream().filter(StoredBackup::succeeded).max(Comparator.comparing(StoredBackup::takenAt).thenComparing(StoredBackup::backupId))
        .ifPresent(newest -> assertThat(decision.kept()).as("the newest success is kept").containsKey(newest.backupId()));
  }
}
