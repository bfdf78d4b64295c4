package dev.backstop.gateway.backups;

import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.KnownAddons;
import java.util.List;
import java.util.Locale;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** The days an addon's scheduled backup was missed, as the scheduler's watchdog reported them. */
@RestController
@RequestMapping("/v1/apps/{appName}/addons/{addonId}/missed-backups")
public class MissedBackupsController {

  /** How many reported days the answer holds at most: a month of daily backups. */
  static final int LATEST = 31;

  private final KnownAddons addons;
  private final MissedBackups missed;

  public MissedBackupsController(KnownAddons addons, MissedBackups missed) {
    this.addons = addons;
    this.missed = missed;
  }

  /**
   * A local day without a backup: {@code finding} is what the watchdog found (never_requested,
   * requested_and_failed, requested_never_started, stuck_running), {@code backupId} the day's scheduled
   * backup if one was requested; times in ISO-8601 UTC.
   */
  public record MissedView(String date, String finding, String backupId, String detail, String scheduledAt, String detectedAt) {

    static MissedView of(MissedBackups.Missed m) {
      return new MissedView(m.localDate(), m.finding().toLowerCase(Locale.ROOT), m.backupId(), m.detail(),
          m.scheduledAt() == null ? null : m.scheduledAt().toString(), m.detectedAt() == null ? null : m.detectedAt().toString());
    }
  }

  @GetMapping
  public List<MissedView> list(@PathVariable String appName, @PathVariable String addonId) {
    addons.findForApp(appName, addonId).orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
    return missed.ofAddon(addonId, LATEST).stream().map(MissedView::of).toList();
  }
}
