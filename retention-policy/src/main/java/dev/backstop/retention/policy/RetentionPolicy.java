package dev.backstop.retention.policy;

import dev.backstop.schemas.events.Plan;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Decides which of an addon's backups stay, by the rules of retention-policy/README.md. Each rule is
 * a small method returning what it keeps and why, like a line of the plan table; a backup is deleted
 * only when no rule keeps it.
 *
 * <p>The outcome is a function of the addon's whole history (every backup it ever took, deleted ones
 * included, and its plans), the zone and the time of evaluation: never of earlier decisions, nor of
 * the order backups became known. So evaluating every hour deletes exactly what evaluating once
 * would, and a replay decides what the live run decided. Each backup is kept by the rules of the
 * plan it was taken under.
 */
public final class RetentionPolicy {

  /** How long a failed backup's record stays visible. */
  public static final Duration FAILED_RECORDS_KEPT = Duration.ofDays(7);

  /** What one rule keeps, in the words shown to customers and in logs. */
  record Kept(String backupId, RetentionDecision.Reason reason) {}

  /**
   * One evaluation's inputs: every backup ever taken (live or deleted), which are still there, and the
   * orders the rules walk them in (sorted once).
   */
  record Inputs(PlanHistory plans, ZoneId zone, Instant now, List<StoredBackup> all, Set<String> live,
      List<StoredBackup> newestFirst, List<StoredBackup> periodicSuccesses) {

    static Inputs of(PlanHistory plans, ZoneId zone, Instant now, List<StoredBackup> all, Set<String> live) {
      Function<StoredBackup, LocalDate> date = b -> b.scheduledFor() != null ? b.scheduledFor() : LocalDate.ofInstant(b.takenAt(), zone);
      List<StoredBackup> periodic = all.stream().filter(b -> b.succeeded() && b.periodic())
          .sorted(Comparator.comparing(date).thenComparing(StoredBackup::takenAt).thenComparing(StoredBackup::backupId))
          .toList();
      return new Inputs(plans, zone, now, all, live, RetentionPolicy.newestFirst(all), periodic);
    }

    /** The rules of the plan the backup was taken under. */
    PlanLimits limits(StoredBackup b) {
      return PlanLimits.of(plans.planAt(b.takenAt()));
    }

    /** The local date a backup stands for: the date it was scheduled for, else the date it was taken. */
    LocalDate date(StoredBackup b) {
      return b.scheduledFor() != null ? b.scheduledFor() : LocalDate.ofInstant(b.takenAt(), zone);
    }

    /** " (taken under the business plan)" when that plan is not the current one. */
    String takenUnder(StoredBackup b) {
      Plan then = plans.planAt(b.takenAt());
      return then == plans.planAt(now) ? "" : " (taken under the " + name(then) + " plan)";
    }
  }

  private RetentionPolicy() {}

  /** An addon that has always been on {@code plan}, with nothing deleted yet. */
  public static RetentionDecision evaluate(Plan plan, ZoneId zone, Instant now, List<StoredBackup> backups) {
    return evaluate(PlanHistory.always(plan), zone, now, backups, List.of());
  }

  /**
   * Decides on the {@code live} backups. {@code deleted} are the addon's backups already deleted: they
   * are no longer decided on, but they count (a weekly copy is 7 days after the previous one, deleted
   * or not; the 11th newest manual backup is the 11th however many newer ones are gone).
   */
  public static RetentionDecision evaluate(PlanHistory plans, ZoneId zone, Instant now, List<StoredBackup> live,
      List<StoredBackup> deleted) {
    Set<String> liveIds = new HashSet<>();
    live.forEach(b -> liveIds.add(b.backupId()));
    List<StoredBackup> all = new ArrayList<>(live);
    deleted.stream().filter(b -> !liveIds.contains(b.backupId())).forEach(all::add);
    // the dump rules see dumps (and failed records of any kind); point-in-time backups have rules of their own
    List<StoredBackup> dumps = all.stream().filter(b -> !b.pointInTime() || !b.succeeded()).toList();
    Inputs in = Inputs.of(plans, zone, now, dumps, liveIds);

    Map<String, List<RetentionDecision.Reason>> kept = new LinkedHashMap<>();
    Stream.of(newestSuccess(in, now), daily(in), weekly(in), monthly(in), lastManual(in, now), afterStopping(in), failedRecords(in),
            PitrRetention.keep(plans, zone, now, all))
        .flatMap(List::stream)
        .filter(k -> liveIds.contains(k.backupId()))
        .forEach(k -> kept.computeIfAbsent(k.backupId(), id -> new ArrayList<>()).add(k.reason()));

    List<RetentionDecision.Pruned> pruned = new ArrayList<>();
    for (StoredBackup backup : newestFirst(live)) {
      if (!kept.containsKey(backup.backupId())) {
        pruned.add(new RetentionDecision.Pruned(backup, backup.pointInTime() && backup.succeeded()
            ? PitrRetention.whyNotKept(plans, now, backup) : whyNotKept(in, backup)));
      }
    }
    return new RetentionDecision(kept, pruned);
  }

  /**
   * The newest successful backup stays while the addon takes backups (a paid plan, not removed) and
   * has since it was taken: until a newer one succeeds.
   */
  static List<Kept> newestSuccess(Inputs in, Instant asOf) {
    return in.newestFirst().stream()
        .filter(b -> b.succeeded() && !b.takenAt().isAfter(asOf))
        .limit(1)
        .filter(b -> takingBackupsSince(in, b, asOf))
        .map(b -> new Kept(b.backupId(), reason("newest", "newest successful backup", null)))
        .toList();
  }

  /**
   * Every daily copy (the first successful periodic backup of each local date) for 7 × 24 h after it
   * was taken, or after its day began for a run started early, before midnight.
   */
  static List<Kept> daily(Inputs in) {
    Map<LocalDate, StoredBackup> firstOfDate = new TreeMap<>();
    in.periodicSuccesses().forEach(b -> firstOfDate.putIfAbsent(in.date(b), b));
    List<Kept> kept = new ArrayList<>();
    firstOfDate.forEach((date, b) -> {
      int days = in.limits(b).dailyDays();
      Instant dayBegan = date.atStartOfDay(in.zone()).toInstant();
      Instant until = (dayBegan.isAfter(b.takenAt()) ? dayBegan : b.takenAt()).plus(Duration.ofDays(days));
      if (days > 0 && until.isAfter(in.now())) {
        kept.add(new Kept(b.backupId(), reason("daily", "daily: represents " + date + in.takenUnder(b), until)));
      }
    });
    return kept;
  }

  /**
   * Weekly copies, about 7 days apart, each for 4 (Starter) or 8 (Business) weeks after it was taken.
   * See {@link #copies} for how they are chosen.
   */
  static List<Kept> weekly(Inputs in) {
    List<Kept> kept = new ArrayList<>();
    for (StoredBackup b : weeklyCopies(in)) {
      int weeks = in.limits(b).weeklyWeeks();
      Instant until = b.takenAt().plus(Duration.ofDays(7L * weeks));
      if (weeks > 0 && until.isAfter(in.now())) {
        kept.add(new Kept(b.backupId(), reason("weekly", "weekly: represents the 7 days from " + in.date(b) + in.takenUnder(b), until)));
      }
    }
    return kept;
  }

  /** Monthly copies, about a month apart, each for 12 months (Business); chosen as the weekly ones are. */
  static List<Kept> monthly(Inputs in) {
    List<Kept> kept = new ArrayList<>();
    for (StoredBackup b : copies(in, in.periodicSuccesses(), date -> date.plusMonths(1))) {
      int months = in.limits(b).monthlyMonths();
      Instant until = b.takenAt().atZone(in.zone()).plusMonths(months).toInstant();
      if (months > 0 && until.isAfter(in.now())) {
        kept.add(new Kept(b.backupId(), reason("monthly", "monthly: represents the month from " + in.date(b) + in.takenUnder(b), until)));
      }
    }
    return kept;
  }

  /**
   * The last 10 (Starter) or 50 (Business) successful manual backups, as counted by the plan each was
   * taken under, while the addon takes backups and has since it was taken.
   */
  static List<Kept> lastManual(Inputs in, Instant asOf) {
    List<StoredBackup> manual = in.newestFirst().stream()
        .filter(b -> !b.periodic() && b.succeeded() && !b.takenAt().isAfter(asOf))
        .toList();
    List<Kept> kept = new ArrayList<>();
    for (int i = 0; i < manual.size(); i++) {
      StoredBackup b = manual.get(i);
      int limit = in.limits(b).manual();
      if (i < limit && takingBackupsSince(in, b, asOf)) {
        kept.add(new Kept(b.backupId(), reason("manual",
            "manual: " + ordinal(i + 1) + " newest of the last " + limit + " kept by the " + name(in.plans().planAt(b.takenAt())) + " plan",
            null)));
      }
    }
    return kept;
  }

  /**
   * When the addon stops taking backups (moved to Sandbox, or removed), what the newest-backup and
   * manual rules kept just before that moment stays as long as the plan it was taken under keeps its oldest
   * copies (4 weeks on Starter, 12 months on Business) from then on: nothing is kept forever.
   */
  static List<Kept> afterStopping(Inputs in) {
    List<Kept> kept = new ArrayList<>();
    for (PlanHistory.Change stop : in.plans().changes()) {
      if (stop.takesBackups() || stop.at().isAfter(in.now()) || stop.at().equals(Instant.MIN)) {
        continue;
      }
      Instant justBefore = stop.at().minusNanos(1);
      String why = stop.plan() == null ? "the addon was removed on " : "the addon moved to the sandbox plan on ";
      Stream.concat(newestSuccess(in, justBefore).stream(), lastManual(in, justBefore).stream())
          .map(Kept::backupId)
          .distinct()
          .forEach(id -> {
            StoredBackup b = in.all().stream().filter(x -> x.backupId().equals(id)).findFirst().orElseThrow();
            Instant until = in.limits(b).longestWindowFrom(stop.at(), in.zone());
            if (until.isAfter(in.now())) {
              kept.add(new Kept(id, reason("stopped", "stopped: " + why + LocalDate.ofInstant(stop.at(), in.zone())
                  + "; kept as long as the " + name(in.plans().planAt(b.takenAt())) + " plan keeps its oldest copies", until)));
            }
          });
    }
    return kept;
  }

  /** A failed backup represents nothing; its record stays 7 days so that customers see it (not on Sandbox). */
  static List<Kept> failedRecords(Inputs in) {
    return in.all().stream()
        .filter(b -> !b.succeeded() && in.limits(b).keepsAnything() && b.takenAt().plus(FAILED_RECORDS_KEPT).isAfter(in.now()))
        .map(b -> new Kept(b.backupId(), reason("failed", "failed: record shown for 7 days", b.takenAt().plus(FAILED_RECORDS_KEPT))))
        .toList();
  }

  /** The weekly copies: 7 days apart, see {@link #copies}. */
  static List<StoredBackup> weeklyCopies(Inputs in) {
    return copies(in, in.periodicSuccesses(), date -> date.plusDays(7));
  }

  /**
   * Copies spaced by a period, walking from the oldest backup: the first backup is a copy; the next copy
   * is the backup of the latest date at most one period after the previous copy's date (the first
   * backup of that date), or, when there is none (a gap), the first backup after. So successive copies
   * are at most a period apart whenever backups existed in between, and the choice depends on the
   * backups alone: a copy once past its period never changes.
   *
   * @param candidates sorted by date, then by when taken
   */
  static List<StoredBackup> copies(Inputs in, List<StoredBackup> candidates, UnaryOperator<LocalDate> period) {
    List<StoredBackup> copies = new ArrayList<>();
    if (candidates.isEmpty()) {
      return copies;
    }
    int current = 0;
    copies.add(candidates.get(0));
    while (true) {
      LocalDate date = in.date(candidates.get(current));
      LocalDate limit = period.apply(date);
      int next = current + 1;
      while (next < candidates.size() && !in.date(candidates.get(next)).isAfter(date)) {
        next++;
      }
      if (next == candidates.size()) {
        return withoutProvisionalTail(in, copies, period);
      }
      int end = next;
      while (end < candidates.size() && !in.date(candidates.get(end)).isAfter(limit)) {
        end++;
      }
      int chosen = next;
      if (end > next) {
        // the latest date in the period, and the first backup of that date
        LocalDate latest = in.date(candidates.get(end - 1));
        chosen = end - 1;
        while (chosen > next && in.date(candidates.get(chosen - 1)).equals(latest)) {
          chosen--;
        }
      }
      copies.add(candidates.get(chosen));
      current = chosen;
    }
  }

  /**
   * The last copy is provisional while a later backup of its period may still replace it (the period
   * after the previous copy has not ended, and the copy is not of its last day): it is not a copy yet.
   * It is the newest periodic backup, kept meanwhile as a daily copy (the weekly period is 7 days) or a
   * weekly one (a month is shorter than 8 weeks); counting it would show one copy too many.
   */
  private static List<StoredBackup> withoutProvisionalTail(Inputs in, List<StoredBackup> copies, UnaryOperator<LocalDate> period) {
    if (copies.size() < 2) {
      return copies;
    }
    LocalDate limit = period.apply(in.date(copies.get(copies.size() - 2)));
    LocalDate tail = in.date(copies.get(copies.size() - 1));
    boolean settled = !tail.isBefore(limit) || LocalDate.ofInstant(in.now(), in.zone()).isAfter(limit);
    return settled ? copies : copies.subList(0, copies.size() - 1);
  }

  /** Whether the backup was taken under a plan that keeps backups, and the addon has taken backups ever since. */
  private static boolean takingBackupsSince(Inputs in, StoredBackup b, Instant asOf) {
    return in.limits(b).keepsAnything() && in.plans().stoppedBetween(b.takenAt(), asOf).isEmpty();
  }

  private static String whyNotKept(Inputs in, StoredBackup backup) {
    Plan then = in.plans().planAt(backup.takenAt());
    PlanLimits limits = in.limits(backup);
    if (!limits.keepsAnything()) {
      return (backup.succeeded() ? backup.periodic() ? "periodic" : "manual" : "failed")
          + ": taken under the " + name(then) + " plan, which keeps no backups";
    }
    if (!backup.succeeded()) {
      return "failed: record older than 7 days";
    }
    if (!backup.periodic()) {
      return in.plans().stoppedBetween(backup.takenAt(), in.now()).isPresent()
          ? "manual: the addon stopped taking backups longer ago than the " + name(then) + " plan keeps them"
          : "manual: beyond the last " + limits.manual() + " kept by the " + name(then) + " plan";
    }
    return "periodic: represents no day, week or month the " + name(then) + " plan still keeps";
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
    return plan == null ? "removed" : plan.name().toLowerCase(Locale.ROOT);
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
