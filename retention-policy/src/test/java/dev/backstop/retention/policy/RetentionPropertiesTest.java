package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
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
 * Random histories (gaps, failures, late and early runs, DST days in several zones, plan changes,
 * removals, manual backups) checked against the promises of retention-policy/README.md, stated here in
 * their own words: the checks look at when backups were taken and under which plan, never at how the
 * policy picks its copies.
 */
class RetentionPropertiesTest {

  private static final Duration DAY = Duration.ofDays(1);
  private static final Duration WEEK = Duration.ofDays(7);

  @Provide
  Arbitrary<ZoneId> zones() {
    return Arbitraries.of(ZoneId.of("Europe/Paris"), ZoneId.of("America/New_York"), ZoneId.of("Australia/Lord_Howe"),
        ZoneId.of("UTC"), ZoneId.of("America/Santiago"));
  }

  @Provide
  Arbitrary<Integer> lengths() {
    return Arbitraries.of(120, 400);
  }

  /** Evaluated every hour as the service does, and once at the end: the same backups remain, and the promises hold. */
  @Property(tries = 10)
  void evaluating_every_hour_keeps_what_evaluating_once_keeps_and_every_promise_holds(@ForAll("lengths") int days,
      @ForAll("zones") ZoneId zone, @ForAll long seed) {
    History h = History.random(seed, days, zone);
    Instant end = h.end;

    List<StoredBackup> live = new ArrayList<>();
    List<StoredBackup> deleted = new ArrayList<>();
    int next = 0;
    List<Generated> byCompletion = h.backups.stream().sorted(Comparator.comparing(Generated::completedAt)).toList();
    // every hour, and at the end (off the hourly grid after a half-hour DST shift)
    for (Instant now = h.start; !now.isAfter(end); now = now.equals(end) ? end.plusSeconds(1) : min(now.plus(Duration.ofHours(1)), end)) {
      while (next < byCompletion.size() && !byCompletion.get(next).completedAt().isAfter(now)) {
        live.add(byCompletion.get(next++).backup());
      }
      RetentionDecision decision = RetentionPolicy.evaluate(h.plans, zone, now, live, deleted);
      if (now.getEpochSecond() / 3600 % (24 * 5) == 0) {
        checkPromises(h, now, live, deleted, decision);
      }
      Set<String> pruned = decision.pruned().stream().map(p -> p.backup().backupId()).collect(Collectors.toSet());
      live.stream().filter(b -> pruned.contains(b.backupId())).forEach(deleted::add);
      live.removeIf(b -> pruned.contains(b.backupId()));
    }

    List<StoredBackup> everything = byCompletion.stream().filter(g -> !g.completedAt().isAfter(end)).map(Generated::backup).toList();
    RetentionDecision once = RetentionPolicy.evaluate(h.plans, zone, end, everything, List.of());
    checkPromises(h, end, everything, List.of(), once);
    assertThat(live.stream().map(StoredBackup::backupId).collect(Collectors.toSet()))
        .as("left by hourly evaluations vs kept by one evaluation at the end").isEqualTo(once.kept().keySet());
  }

  /** A replay still reading (the first part of the outcomes, in the order they completed) only ever keeps more. */
  @Property(tries = 40)
  void evaluating_part_of_the_history_never_deletes_what_the_whole_history_keeps(@ForAll("lengths") int days,
      @ForAll @IntRange(min = 1, max = 100) int percentKnown, @ForAll("zones") ZoneId zone, @ForAll long seed) {
    History h = History.random(seed, days, zone);
    List<StoredBackup> history = h.backups.stream().sorted(Comparator.comparing(Generated::completedAt)).map(Generated::backup).toList();
    List<StoredBackup> prefix = history.subList(0, Math.max(1, history.size() * percentKnown / 100));

    Set<String> keptByWhole = RetentionPolicy.evaluate(h.plans, zone, h.end, history, List.of()).kept().keySet();
    RetentionPolicy.evaluate(h.plans, zone, h.end, prefix, List.of()).pruned()
        .forEach(p -> assertThat(keptByWhole).as("pruned from a partial history").doesNotContain(p.backup().backupId()));
  }

  // ---- the promises, in words ----

  private static void checkPromises(History h, Instant now, List<StoredBackup> live, List<StoredBackup> deleted, RetentionDecision d) {
    Set<String> kept = d.kept().keySet();
    List<Generated> taken = h.backups.stream().filter(g -> !g.completedAt().isAfter(now)).toList();

    // every backup is kept with reasons or pruned with one; nothing deleted comes back
    Set<String> decided = new HashSet<>(kept);
    d.pruned().forEach(p -> decided.add(p.backup().backupId()));
    assertThat(decided).isEqualTo(live.stream().map(StoredBackup::backupId).collect(Collectors.toSet()));

    // nothing is kept without an end date, except until newer backups replace it while the addon takes backups
    for (String id : kept) {
      if (d.expiresAt(id) == null) {
        assertThat(h.takesBackups(now)).as("%s kept without an end date at %s", id, now).isTrue();
      }
    }

    for (Generated g : taken) {
      StoredBackup b = g.backup();
      PlanLimits limits = PlanLimits.of(h.planAt(b.takenAt()));
      Duration age = Duration.between(b.takenAt(), now);
      boolean live_ = live.stream().anyMatch(x -> x.backupId().equals(b.backupId()));
      if (!live_) {
        continue;
      }
      // a daily backup younger than 7 x 24 h
      if (b.succeeded() && b.periodic() && limits.dailyDays() > 0 && age.compareTo(WEEK) < 0) {
        assertThat(kept).as("daily backup %s, %s old, at %s", b, age, now).contains(b.backupId());
      }
      // a failed backup's record, for 7 days
      if (!b.succeeded() && limits.keepsAnything() && age.compareTo(WEEK) < 0) {
        assertThat(kept).as("failed record %s", b).contains(b.backupId());
      }
    }

    // the newest successful backup, as long as the addon has been on a paid plan since it was taken
    taken.stream().map(Generated::backup).filter(StoredBackup::succeeded).max(Comparator.comparing(StoredBackup::takenAt))
        .filter(b -> h.takingBackupsFrom(b.takenAt(), now))
        .ifPresent(b -> assertThat(kept).as("newest success %s at %s", b, now).contains(b.backupId()));

    // the newest 10 (Starter) or 50 (Business) manual backups, while the addon has taken backups since
    List<StoredBackup> manual = taken.stream().map(Generated::backup).filter(b -> !b.periodic() && b.succeeded())
        .sorted(Comparator.comparing(StoredBackup::takenAt).reversed()).toList();
    for (int i = 0; i < manual.size(); i++) {
      StoredBackup b = manual.get(i);
      if (i < PlanLimits.of(h.planAt(b.takenAt())).manual() && h.takingBackupsFrom(b.takenAt(), now)) {
        assertThat(kept).as("manual backup %s, %d newest", b, i + 1).contains(b.backupId());
      }
    }

    List<StoredBackup> periodic = taken.stream().map(Generated::backup).filter(b -> b.succeeded() && b.periodic())
        .sorted(Comparator.comparing(StoredBackup::takenAt)).toList();
    // by the day each stands for: a late run may start after the next day's
    List<StoredBackup> keptPeriodic = periodic.stream().filter(b -> kept.contains(b.backupId()))
        .sorted(Comparator.comparing(h::dateOf).thenComparing(StoredBackup::takenAt)).toList();
    // weekly: every backup of the last 4 (8) weeks has a kept copy within about a week of it,
    // monthly: every backup of the last 12 months one within about a month (away from plan changes)
    for (StoredBackup b : periodic) {
      if (h.planChangedWithin(b.takenAt(), Duration.ofDays(40))) {
        continue;
      }
      PlanLimits limits = PlanLimits.of(h.planAt(b.takenAt()));
      Duration age = Duration.between(b.takenAt(), now);
      if (age.compareTo(WEEK) >= 0 && age.compareTo(WEEK.multipliedBy(limits.weeklyWeeks()).minus(DAY.multipliedBy(3))) < 0) {
        assertThat(keptPeriodic).as("a kept copy near %s, %s old, at %s", b, age, now)
            .anyMatch(c -> within(c.takenAt(), b.takenAt().minus(DAY.multipliedBy(2)), b.takenAt().plus(DAY.multipliedBy(9))));
      }
      Instant monthsAgo = now.atZone(h.zone).minusMonths(limits.monthlyMonths()).toInstant().plus(DAY.multipliedBy(3));
      if (limits.monthlyMonths() > 0 && b.takenAt().isAfter(monthsAgo)) {
        assertThat(keptPeriodic).as("a kept copy within a month of %s at %s", b, now)
            .anyMatch(c -> within(c.takenAt(), b.takenAt().minus(DAY.multipliedBy(2)), b.takenAt().atZone(h.zone).plusMonths(1).toInstant().plus(DAY.multipliedBy(2))));
      }
    }
    // successive kept copies are about a period apart, unless no backup was scheduled for a day between them
    for (int i = 1; i < keptPeriodic.size(); i++) {
      StoredBackup a = keptPeriodic.get(i - 1);
      StoredBackup c = keptPeriodic.get(i);
      if (h.planChangedWithin(a.takenAt(), Duration.ofDays(40)) || h.planChangedWithin(c.takenAt(), Duration.ofDays(40))) {
        continue;
      }
      PlanLimits limits = PlanLimits.of(h.planAt(c.takenAt()));
      Duration apart = Duration.between(a.takenAt(), c.takenAt());
      // past the weekly window, only monthly copies remain
      Duration period = limits.monthlyMonths() > 0 && Duration.between(a.takenAt(), now).compareTo(WEEK.multipliedBy(limits.weeklyWeeks())) >= 0
          ? Duration.ofDays(31) : WEEK;
      if (apart.compareTo(period.plus(DAY.multipliedBy(2))) > 0) {
        LocalDate from = h.dateOf(a);
        LocalDate to = h.dateOf(c);
        assertThat(periodic.stream().filter(x -> h.dateOf(x).isAfter(from) && h.dateOf(x).isBefore(to)).map(StoredBackup::takenAt))
            .as("backups between kept copies %s and %s, %s apart at %s", a, c, apart, now).isEmpty();
      }
    }
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  private static boolean within(Instant at, Instant from, Instant to) {
    return !at.isBefore(from) && !at.isAfter(to);
  }

  // ---- random histories ----

  record Generated(StoredBackup backup, Instant completedAt) {}

  /** One addon's random life: its plans and the backups it took. */
  static final class History {
    final ZoneId zone;
    final Instant start;
    final Instant end;
    final PlanHistory plans;
    final List<PlanHistory.Change> changes;
    final List<Generated> backups;

    private History(ZoneId zone, Instant start, Instant end, List<PlanHistory.Change> changes, List<Generated> backups) {
      this.zone = zone;
      this.start = start;
      this.end = end;
      this.changes = changes;
      this.plans = new PlanHistory(changes);
      this.backups = backups;
    }

    static History random(long seed, int days, ZoneId zone) {
      Random random = new Random(seed);
      LocalDate first = LocalDate.of(2025, 1, 1).plusDays(random.nextInt(365));
      Instant start = first.atStartOfDay(zone).toInstant();
      String addonId = "addon-" + Long.toHexString(seed);
      int hour = random.nextInt(24);
      Duration offset = Duration.ofSeconds(random.nextInt(59 * 60));
      List<PlanHistory.Change> changes = new ArrayList<>();
      Plan plan = random.nextBoolean() ? Plan.STARTER : Plan.BUSINESS;
      changes.add(new PlanHistory.Change(start, plan));
      List<Generated> backups = new ArrayList<>();
      int gap = 0;
      boolean removed = false;
      for (int d = 0; d < days && !removed; d++) {
        LocalDate date = first.plusDays(d);
        Instant dayStart = date.atStartOfDay(zone).toInstant();
        if (d > 0 && random.nextInt(70) == 0) {
          plan = Plan.values()[random.nextInt(3)];
          changes.add(new PlanHistory.Change(dayStart.plus(Duration.ofMinutes(random.nextInt(24 * 60))), plan));
        }
        if (d > days / 2 && random.nextInt(600) == 0) {
          removed = true;
          changes.add(new PlanHistory.Change(dayStart.plus(Duration.ofMinutes(random.nextInt(24 * 60))), null));
          continue;
        }
        if (gap > 0) {
          gap--;
        } else if (random.nextInt(30) == 0) {
          gap = 1 + random.nextInt(12);
        }
        // the scheduled backup for this date: at its hour and minute (after the gap on a spring-forward day),
        // mostly on time, sometimes late (past midnight), sometimes a little early
        ZonedDateTime fire = ZonedDateTime.of(date, LocalTime.of(hour, 0), zone).plus(offset);
        int r = random.nextInt(100);
        Duration shift = r < 80 ? Duration.ofSeconds(random.nextInt(600))
            : r < 92 ? Duration.ofMinutes(10 + random.nextInt(170))
            : r < 97 ? Duration.ofMinutes(180 + random.nextInt(23 * 60))
            : Duration.ofMinutes(-random.nextInt(50));
        Instant takenAt = fire.toInstant().plus(shift);
        History sofar = new History(zone, start, start, List.copyOf(changes), List.of());
        if (gap == 0 && sofar.takesBackups(takenAt)) {
          String id = ScheduledDates.idOf(addonId, date, BackupKind.SCHEDULED);
          backups.add(new Generated(new StoredBackup(id, BackupKind.SCHEDULED, random.nextInt(9) != 0, takenAt, date),
              takenAt.plus(Duration.ofMinutes(1 + random.nextInt(40)))));
        }
        for (int m = random.nextInt(4) == 0 ? 1 + random.nextInt(3) : 0; m > 0; m--) {
          Instant at = dayStart.plus(Duration.ofMinutes(random.nextInt(24 * 60)));
          if (sofar.takesBackups(at)) {
            backups.add(new Generated(new StoredBackup("m" + d + "-" + m, BackupKind.MANUAL, random.nextInt(10) != 0, at),
                at.plus(Duration.ofMinutes(1 + random.nextInt(20)))));
          }
        }
      }
      Instant end = first.plusDays(days).atStartOfDay(zone).toInstant().plus(Duration.ofHours(random.nextInt(24)));
      return new History(zone, start, end, changes, backups);
    }

    Plan planAt(Instant at) {
      return plans.planAt(at);
    }

    boolean takesBackups(Instant at) {
      Plan plan = new PlanHistory(changes).planAt(at);
      return plan == Plan.STARTER || plan == Plan.BUSINESS;
    }

    /** On a paid plan, not removed, from {@code from} to {@code now}. */
    boolean takingBackupsFrom(Instant from, Instant now) {
      return takesBackups(from) && changes.stream()
          .filter(c -> c.at().isAfter(from) && !c.at().isAfter(now))
          .allMatch(c -> c.plan() == Plan.STARTER || c.plan() == Plan.BUSINESS);
    }

    boolean planChangedWithin(Instant at, Duration distance) {
      return changes.stream().skip(1).anyMatch(c -> Duration.between(c.at(), at).abs().compareTo(distance) <= 0);
    }

    /** The day a backup was scheduled for, or taken on. */
    LocalDate dateOf(StoredBackup b) {
      return b.scheduledFor() != null ? b.scheduledFor() : LocalDate.ofInstant(b.takenAt(), zone);
    }
  }
}
