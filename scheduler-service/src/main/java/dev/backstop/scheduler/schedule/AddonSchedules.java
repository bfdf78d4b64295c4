package dev.backstop.scheduler.schedule;

import dev.backstop.kit.addon.Addon;
import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Engine;
import java.time.Clock;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Keeps each addon's schedule entries in step with the addon: the daily scheduled backup, and the
 * weekly point-in-time base backup of PostgreSQL addons. A plan, schedule or engine change takes
 * effect from the next run; a removed or sandboxed addon gets no more requests.
 */
@Component
public class AddonSchedules {

  private static final Logger log = LoggerFactory.getLogger(AddonSchedules.class);
  private static final BackupKind[] KINDS = {BackupKind.SCHEDULED, BackupKind.PITR_BASE};

  private final ScheduleCatalog catalog;
  private final Clock clock;

  public AddonSchedules(ScheduleCatalog catalog, Clock clock) {
    this.catalog = catalog;
    this.clock = clock;
  }

  /** The addon as of {@code addon.revision()}; an older or repeated revision changes nothing. */
  public void apply(Addon addon) {
    var at = addon.schedule().at();
    Instant now = clock.instant();
    Instant daily = addon.hasBackups() && addon.schedule().enabled()
        ? RecurringBackup.daily(addon.id(), at.hour(), at.zone()).nextFireAfter(now)
        : null;
    // point-in-time recovery needs its weekly base backup whether or not daily dumps are enabled
    Instant weekly = addon.hasBackups() && addon.engine() == Engine.POSTGRESQL
        ? RecurringBackup.weekly(addon.id(), at.hour(), at.zone()).nextFireAfter(now)
        : null;
    var target = new ScheduleCatalog.Target(addon.appName(), at);
    if (catalog.apply(addon.id(), BackupKind.SCHEDULED, addon.revision(), target, daily)) {
      log.info("addon {} (revision {}): next scheduled backup {}", addon.id(), addon.revision(),
          daily != null ? daily : "never (" + (addon.hasBackups() ? "schedule disabled" : "sandbox plan") + ")");
    }
    catalog.apply(addon.id(), BackupKind.PITR_BASE, addon.revision(), target, weekly);
  }

  /** The addon was removed at {@code revision}: none of its entries is due any more. */
  public void remove(String addonId, long revision) {
    for (BackupKind kind : KINDS) {
      catalog.apply(addonId, kind, revision, null, null);
    }
    log.info("addon {} removed: no more scheduled backups", addonId);
  }
}
