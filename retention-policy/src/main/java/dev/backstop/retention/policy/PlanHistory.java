package dev.backstop.retention.policy;

import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The plans an addon has been on, in order: each backup is kept by the rules of the plan it was taken
 * under. A change with a null plan is the addon's removal.
 */
public record PlanHistory(List<Change> changes) {

  /** From {@code at} on, the addon is on {@code plan}; null: removed. */
  public record Change(Instant at, Plan plan) {
    boolean takesBackups() {
      return plan != null && plan != Plan.SANDBOX;
    }
  }

  public PlanHistory {
    if (changes.isEmpty()) {
      throw new IllegalArgumentException("a plan history holds at least the plan the addon started on");
    }
    changes = changes.stream().sorted(Comparator.comparing(Change::at)).toList();
  }

  /** An addon that has always been on {@code plan}. */
  public static PlanHistory always(Plan plan) {
    return new PlanHistory(List.of(new Change(Instant.MIN, plan)));
  }

  /** The plan in force at {@code at}; before the first change, the first plan; null once removed. */
  public Plan planAt(Instant at) {
    Change current = changes.get(0);
    for (Change change : changes) {
      if (change.at().isAfter(at)) {
        break;
      }
      current = change;
    }
    return current.plan();
  }

  /** Whether backups can still be taken at {@code now}: a paid plan, not removed. */
  public boolean takesBackups(Instant now) {
    Plan plan = planAt(now);
    return plan != null && plan != Plan.SANDBOX;
  }

  /**
   * When the addon first stopped taking backups (Sandbox, or removed) after {@code since}, up to
   * {@code now}; empty if it has taken backups all along.
   */
  public Optional<Instant> stoppedBetween(Instant since, Instant now) {
    return changes.stream()
        .filter(c -> c.at().isAfter(since) && !c.at().isAfter(now) && !c.takesBackups())
        .map(Change::at)
        .findFirst();
  }
}
