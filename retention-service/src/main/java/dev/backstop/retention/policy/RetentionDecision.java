package dev.backstop.retention.policy;

import java.util.List;
import java.util.Map;

/**
 * The outcome of one evaluation: every backup kept, with the rules keeping it, and every backup to
 * delete, with why no rule keeps it.
 */
public record RetentionDecision(Map<String, List<String>> kept, List<Pruned> pruned) {

  /** A backup no rule keeps. */
  public record Pruned(StoredBackup backup, String reason) {}
}
