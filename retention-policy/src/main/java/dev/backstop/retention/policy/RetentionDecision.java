package dev.backstop.retention.policy;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The outcome of one evaluation: every backup kept, with each rule keeping it, and every backup to
 * delete, with why no rule keeps it.
 */
public record RetentionDecision(Map<String, List<Reason>> kept, List<Pruned> pruned) {

  /**
   * Why a rule keeps a backup, and until when it would if nothing changed.
   *
   * @param until the end of the rule's window; null when the rule keeps it until newer backups replace
   *     it, which only happens while the addon takes backups (a paid plan, not removed)
   */
  public record Reason(String rule, String text, Instant until) {}

  /** A backup no rule keeps. */
  public record Pruned(StoredBackup backup, String reason) {}

  /**
   * When the backup would be deleted if no new backup came: the latest end of the windows keeping it;
   * null when a count-based rule (newest success, last N manual) keeps it until newer backups replace
   * it (only while the addon takes backups), or when it is not kept.
   */
  public Instant expiresAt(String backupId) {
    List<Reason> reasons = kept.get(backupId);
    if (reasons == null || reasons.stream().anyMatch(r -> r.until() == null)) {
      return null;
    }
    return reasons.stream().map(Reason::until).max(Instant::compareTo).orElse(null);
  }
}
