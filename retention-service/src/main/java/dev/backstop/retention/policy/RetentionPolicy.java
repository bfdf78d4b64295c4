package dev.backstop.retention.policy;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Decides which of an addon's backups stay. Each rule is a small method returning what it keeps and
 * why; a backup is deleted only when no rule keeps it. The outcome depends only on the backups and
 * the plan, never on the order events arrived in.
 */
public final class RetentionPolicy {

  /** What one rule keeps: backup id and the reason, in the words shown to customers and in logs. */
  record Kept(String backupId, String reason) {}

  private RetentionPolicy() {}

  public static RetentionDecision evaluate(Plan plan, List<StoredBackup> backups) {
    PlanLimits limits = PlanLimits.of(plan);
    Map<String, List<String>> kept = new LinkedHashMap<>();
    Stream.of(newestSuccess(backups), lastManual(plan, limits, backups), notManual(backups))
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
        .map(b -> new Kept(b.backupId(), "newest successful backup"))
        .toList();
  }

  /** The last N successful manual backups (10 on Starter, 50 on Business, none on Sandbox). */
  static List<Kept> lastManual(Plan plan, PlanLimits limits, List<StoredBackup> backups) {
    List<StoredBackup> manual = newestFirst(backups).stream()
        .filter(b -> b.kind() == BackupKind.MANUAL && b.succeeded())
        .toList();
    List<Kept> kept = new ArrayList<>();
    for (int i = 0; i < Math.min(limits.manual(), manual.size()); i++) {
      kept.add(new Kept(manual.get(i).backupId(),
          "manual: " + ordinal(i + 1) + " newest of the last " + limits.manual() + " kept by the " + name(plan) + " plan"));
    }
    return kept;
  }

  /**
   * Scheduled and point-in-time base backups, and failed records, are outside this version's rules
   * (the daily/weekly/monthly rules come with the retention issue): they are all kept, rather than
   * deleted by a rule that does not know them.
   */
  static List<Kept> notManual(List<StoredBackup> backups) {
    return backups.stream()
        .filter(b -> b.kind() != BackupKind.MANUAL || !b.succeeded())
        .map(b -> new Kept(b.backupId(), b.succeeded() ? "scheduled: kept until the periodic rules apply" : "failed: record kept"))
        .toList();
  }

  private static String whyNotKept(Plan plan, PlanLimits limits, StoredBackup backup) {
    if (limits.manual() == 0) {
      return "manual: the " + name(plan) + " plan keeps no manual backups";
    }
    return "manual: beyond the last " + limits.manual() + " kept by the " + name(plan) + " plan";
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
