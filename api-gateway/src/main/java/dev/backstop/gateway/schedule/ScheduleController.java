package dev.backstop.gateway.schedule;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.DailySchedule;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.gateway.addons.AddonRegistry;
import dev.backstop.gateway.web.ApiProblem;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Size;
import java.time.Clock;
import java.time.ZoneId;
import org.springframework.validation.annotation.Validated;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** Reads and sets the daily backup time of an addon, answering as the reference CLI does. */
@RestController
@Validated
@RequestMapping("/v1/apps/{appName}/addons/{addonId}/schedule")
public class ScheduleController {

  private final KnownAddons catalog;
  private final AddonRegistry registry;
  private final Clock clock;

  public ScheduleController(KnownAddons catalog, AddonRegistry registry, Clock clock) {
    this.catalog = catalog;
    this.registry = registry;
    this.clock = clock;
  }

  /**
   * A change: {@code scheduleAt} as customers write it ({@code "4:00 UTC"}; an hour alone is in
   * {@code timezone}, else in the addon's current zone), or {@code hour} and {@code timezone} as the
   * dashboard sends them, and/or {@code enabled}. Absent fields keep their current value, except that
   * setting a time without saying {@code enabled} turns a disabled schedule back on.
   */
  public record ScheduleChange(@Size(max = 64) String scheduleAt, @Min(0) @Max(23) Integer hour, @Size(max = 64) String timezone,
      Boolean enabled) {}

  /** The schedule and the sentence customers see. */
  public record ScheduleView(boolean enabled, int hour, String timezone, String message) {}

  @GetMapping
  public ScheduleView get(@PathVariable String appName, @PathVariable String addonId) {
    var addon = backedUpAddon(appName, addonId);
    return view(addon.schedule(), addon.removed());
  }

  @PutMapping
  public ScheduleView set(@PathVariable String appName, @PathVariable String addonId,
      @RequestBody @jakarta.validation.Valid ScheduleChange change) {
    var addon = backedUpAddon(appName, addonId);
    if (addon.removed()) {
      throw ApiProblem.conflict("addon-removed", "Addon removed", "addon " + addonId + " was removed: it has no schedule");
    }
    DailySchedule current = addon.schedule();
    BackupTime at;
    try {
      ZoneId zone = change.timezone() != null ? BackupTime.zone(change.timezone()) : current.at().zone();
      at = change.scheduleAt() != null
          ? BackupTime.parse(change.scheduleAt(), zone)
          : new BackupTime(change.hour() != null ? change.hour() : current.at().hour(), zone);
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest(e.getMessage());
    }
    boolean timeGiven = change.scheduleAt() != null || change.hour() != null;
    boolean enabled = change.enabled() != null ? change.enabled() : timeGiven || current.enabled();
    registry.changeSchedule(addonId, new DailySchedule(enabled, at));
    return view(catalog.find(addonId).orElseThrow().schedule(), false);
  }

  private Addon backedUpAddon(String appName, String addonId) {
    var addon = catalog.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
    if (!addon.hasBackups()) {
      throw ApiProblem.conflict("sandbox-has-no-backups", "No backups on Sandbox plans",
          "Sandbox plans have no backups, so no backup schedule: upgrade addon " + addonId + " to Starter or Business");
    }
    return addon;
  }

  private ScheduleView view(DailySchedule schedule, boolean removed) {
    // a removed addon keeps its backups until they age out, but none is taken any more
    boolean enabled = schedule.enabled() && !removed;
    BackupTime at = schedule.at();
    String message = enabled
        ? "Periodic backups will be done daily at " + at.describe(clock.instant())
        : removed ? "Periodic backups are stopped: the addon was removed" : "Periodic backups are disabled";
    return new ScheduleView(enabled, at.hour(), at.zone().getId(), message);
  }
}
