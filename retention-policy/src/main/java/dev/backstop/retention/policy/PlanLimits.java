package dev.backstop.retention.policy;

import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * The plan table customers see: how many backups of each kind a plan keeps.
 *
 * @param dailyDays every daily copy is kept this many days (7 × 24 h)
 * @param weeklyWeeks weekly copies, about 7 days apart, are kept this many weeks
 * @param monthlyMonths monthly copies, about a month apart, are kept this many months
 * @param manual the last N manual backups
 */
public record PlanLimits(int dailyDays, int weeklyWeeks, int monthlyMonths, int manual) {

  /** What a plan that keeps nothing (Sandbox, or no plan at all) promises. */
  public static final PlanLimits NOTHING = new PlanLimits(0, 0, 0, 0);

  public static PlanLimits of(Plan plan) {
    return plan == null ? NOTHING : switch (plan) {
      case SANDBOX -> NOTHING;
      case STARTER -> new PlanLimits(7, 4, 0, 10);
      case BUSINESS -> new PlanLimits(7, 8, 12, 50);
    };
  }

  /** Whether the plan keeps any backup at all. */
  public boolean keepsAnything() {
    return !equals(NOTHING);
  }

  /**
   * The end of the longest window the plan keeps a periodic copy for, counted from {@code from}: how
   * long the backups still kept when an addon stops taking backups stay (Starter 4 weeks, Business
   * 12 months).
   */
  public Instant longestWindowFrom(Instant from, ZoneId zone) {
    ZonedDateTime start = from.atZone(zone);
    Instant end = start.plusDays(dailyDays).toInstant();
    end = later(end, start.plusWeeks(weeklyWeeks).toInstant());
    return later(end, start.plusMonths(monthlyMonths).toInstant());
  }

  private static Instant later(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }
}
