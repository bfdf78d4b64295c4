package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneId;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Decides which of an addon's backups stay. Each rule is a small method returning what it keeps and
 * why, like a line of the plan table; a backup is deleted only when no rule keeps it. The outcome
 * depends on the backups, the plan, the addon's time zone and the time of evaluation only — never on
 * the order the backups became known.
 *
 * <p>Periods (see retention-service/README.md): a backup belongs to the local calendar day, ISO week
 * (Monday to Sunday) and calendar month of the moment it was taken, in the addon's schedule time zone.
 * A period is represented by its <em>first</em> successful periodic backup, so the representative of a
 * period is chosen as soon as it exists and never changes afterwards.
 */
public final class RetentionPolicy {

  /** How long a failed backup's record stays visible. */
  public static final Duration FAILED_RECORDS_KEPT = Duration.ofDays(7);

  /** What one rule keeps, in the words shown to customers and in logs. */
  record Kept(String backupId, RetentionDecision.Reason reason) {}

  private RetentionPolicy() {}

  public static RetentionDecision evaluate(Plan plan, ZoneId zone, Instant now, List<StoredBackup> backups) {
    PlanLimits limits = PlanLimits.of(plan);
    Map<String, List<RetentionDecision.Reason>> kept = new LinkedHashMap<>();
    Stream.of(
            newestSuccess(backups),
            daily(limits, zone, now, backups),
            weekly(limits, zone, now, backups),
            monthly(limits, zone, now, backups),
            lastManual(plan, limits, backups),
            failedRecords(now, backups))
        .flatMap(List::stream)
        .forEach(k -> kept.computeIfAbsent(k.backupId(), id -> new ArrayList<>()).add(k.reason()));

    List<RetentionDecision.Pruned> pruned = new ArrayList<>();
    for (StoredBackup backup : newestFirst(backups)) {
      if (!kept.containsKey(backup.backupId())) {
        pruned.add(new RetentionDecision.Pruned(backup, whyNotKept(plan, limits, backup)));
      }
    }
    return new RetentionDecision(kept, pruned);
  }

  /** The newest successful backup is never deleted, whatever the plan says. */
  static List<Kept> newestSuccess(List<StoredBackup> backups) {
    return newestFirst(backups).stream()
        .filter(StoredBackup::succeeded)
        .limit(1)
        .map(b -> new Kept(b.backupId(), reason("newest", "newest successful backup", null)))
        .toList();
  }

  /** One periodic backup for each of the last 7 local days (today included). */
  static List<Kept> daily(PlanLimits limits, ZoneId zone, Instant now, List<StoredBackup> backups) {
    LocalDate today = LocalDate.ofInstant(now, zone);
    return representatives(backups, zone, date -> date, today.minusDays(limits.dailyDays() - 1L), today,
        (day, b) -> reason("daily", "daily: represents " + day, start(day.plusDays(limits.dailyDays()), zone)));
  }

  /** One periodic backup per ISO week (Monday to Sunday) for the last 4 (Starter) or 8 (Business) weeks. */
  static List<Kept> weekly(PlanLimits limits, ZoneId zone, Instant now, List<StoredBackup> backups) {
    LocalDate thisWeek = weekOf(LocalDate.ofInstant(now, zone));
    return representatives(backups, zone, RetentionPolicy::weekOf, thisWeek.minusWeeks(limits.weeklyWeeks() - 1L), thisWeek,
        (week, b) -> reason("weekly", "weekly: represents the week of " + week,
            start(week.plusWeeks(limits.weeklyWeeks()), zone)));
  }

  /** One periodic backup per calendar month for the last 12 months (Business). */
  static List<Kept> monthly(PlanLimits limits, ZoneId zone, Instant now, List<StoredBackup> backups) {
    LocalDate thisMonth = LocalDate.ofInstant(now, zone).withDayOfMonth(1);
    return representatives(backups, zone, date -> date.withDayOfMonth(1), thisMonth.minusMonths(limits.monthlyMonths() - 1L),
        thisMonth, (month, b) -> reason("monthly", "monthly: represents " + YearMonth.from(month),
            start(month.plusMonths(limits.monthlyMonths()), zone)));
  }

  /** The last N successful manual backups (10 on Starter, 50 on Business, none on Sandbox). */
  static List<Kept> lastManual(Plan plan, PlanLimits limits, List<StoredBackup> backups) {
    List<StoredBackup> manual = newestFirst(backups).stream()
        .filter(b -> b.kind() == BackupKind.MANUAL && b.succeeded())
        .limit(limits.manual())
        .toList();
    List<Kept> kept = new ArrayList<>();
    for (int i = 0; i < manual.size(); i++) {
      kept.add(new Kept(manual.get(i).backupId(), reason("manual",
          "manual: " + ordinal(i + 1) + " newest of the last " + limits.manual() + " kept by the " + name(plan) + " plan", null)));
    }
    return kept;
  }

  /** A failed backup represents nothing; its record stays a week so that customers see it. */
  static List<Kept> failedRecords(Instant now, List<StoredBackup> backups) {
    return backups.stream()
        .filter(b -> !b.succeeded() && b.takenAt().plus(FAILED_RECORDS_KEPT).isAfter(now))
        .map(b -> new Kept(b.backupId(), reason("failed", "failed: record shown for 7 days", b.takenAt().plus(FAILED_RECORDS_KEPT))))
        .toList();
  }

  /**
   * For each period from {@code first} to {@code last} (period keys as {@code periodOf} maps a local
   * date), the first successful periodic backup taken in it.
   */
  private static List<Kept> representatives(List<StoredBackup> backups, ZoneId zone, Function<LocalDate, LocalDate> periodOf,
      LocalDate first, LocalDate last, java.util.function.BiFunction<LocalDate, StoredBackup, RetentionDecision.Reason> why) {
    if (last.isBefore(first)) {
      return List.of();
    }
    Map<LocalDate, StoredBackup> firstOfPeriod = new LinkedHashMap<>();
    backups.stream()
        .filter(b -> b.succeeded() && b.kind() != BackupKind.MANUAL)
        .sorted(Comparator.comparing(StoredBackup::takenAt).thenComparing(StoredBackup::backupId))
        .forEach(b -> {
          LocalDate period = periodOf.apply(LocalDate.ofInstant(b.takenAt(), zone));
          if (!period.isBefore(first) && !period.isAfter(last)) {
            firstOfPeriod.putIfAbsent(period, b);
          }
        });
    return firstOfPeriod.entrySet().stream()
        .map(e -> new Kept(e.getValue().backupId(), why.apply(e.getKey(), e.getValue())))
        .toList();
  }

  private static String whyNotKept(Plan plan, PlanLimits limits, StoredBackup backup) {
    if (!backup.succeeded()) {
      return "failed: record older than 7 days";
    }
    if (backup.kind() == BackupKind.MANUAL) {
      return limits.manual() == 0
          ? "manual: the " + name(plan) + " plan keeps no manual backups"
          : "manual: beyond the last " + limits.manual() + " kept by the " + name(plan) + " plan";
    }
    return "periodic: represents no day, week or month the " + name(plan) + " plan still keeps";
  }

  static LocalDate weekOf(LocalDate date) {
    return date.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
  }

  private static Instant start(LocalDate date, ZoneId zone) {
    return date.atStartOfDay(zone).toInstant();
  }

  private static RetentionDecision.Reason reason(String rule, String text, Instant until) {
    return new RetentionDecision.Reason(rule, text, until);
  }

  private static List<StoredBackup> newestFirst(List<StoredBackup> backups) {
    return backups.stream()
        .sorted(Comparator.comparing(StoredBackup::takenAt).thenComparing(StoredBackup::backupId).reversed())
        .toList();
  }

  private static String name(Plan plan) {
    return plan.name().toLowerCase();
  }

  private static String ordinal(int n) {
    return n + (n % 100 >= 11 && n % 100 <= 13 ? "th" : switch (n % 10) {
      case 1 -> "st";
      case 2 -> "nd";
      case 3 -> "rd";
      default -> "th";
    });
  }
}
