package dev.backstop.retention.policy;

import dev.backstop.schemas.events.Plan;

/**
 * The plan table customers see: how many backups of each kind a plan keeps.
 *
 * @param dailyDays one backup for each of the last N days
 * @param weeklyWeeks one backup per 7-day period for N weeks
 * @param monthlyMonths one backup per month for N months
 * @param manual the last N manual backups
 */
public record PlanLimits(int dailyDays, int weeklyWeeks, int monthlyMonths, int manual) {

  public static PlanLimits of(Plan plan) {
    return switch (plan) {
      case SANDBOX -> new PlanLimits(0, 0, 0, 0);
      case STARTER -> new PlanLimits(7, 4, 0, 10);
      case BUSINESS -> new PlanLimits(7, 8, 12, 50);
    };
  }
}
