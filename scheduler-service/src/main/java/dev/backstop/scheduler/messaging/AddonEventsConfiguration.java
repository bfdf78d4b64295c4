package dev.backstop.scheduler.messaging;

import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.scheduler.schedule.BackupSchedule;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Keeps the schedule entries in step with {@code backstop.addons}. A plan, schedule or engine change
 * takes effect from the next run; a removed or sandboxed addon gets no more requests.
 */
@Configuration
public class AddonEventsConfiguration {

  private static final Logger log = LoggerFactory.getLogger(AddonEventsConfiguration.class);

  @Bean
  public Consumer<SpecificRecord> addonEvents(ScheduleCatalog catalog, Clock clock) {
    return event -> {
      switch (event) {
        case AddonRegistered e -> apply(catalog, clock, e.getAddon(), e.getRevision());
        case AddonChanged e -> apply(catalog, clock, e.getAddon(), e.getRevision());
        case AddonRemoved e -> {
          for (BackupKind kind : new BackupKind[] {BackupKind.SCHEDULED, BackupKind.PITR_BASE}) {
            catalog.apply(e.getAddonId(), kind, e.getRevision(), new Document("removed", true), null);
          }
          log.info("addon {} removed: no more scheduled backups", e.getAddonId());
        }
        default -> { }
      }
    };
  }

  private static void apply(ScheduleCatalog catalog, Clock clock, AddonSpec addon, long revision) {
    var schedule = addon.getSchedule();
    ZoneId zone = ZoneId.of(schedule.getTimezone());
    Document state = new Document("appName", addon.getAppName())
        .append("plan", addon.getPlan().name())
        .append("engine", addon.getEngine().name())
        .append("hour", schedule.getHour())
        .append("timezone", schedule.getTimezone())
        .append("enabled", schedule.getEnabled());
    boolean backedUp = addon.getPlan() != Plan.SANDBOX;

    Instant daily = backedUp && schedule.getEnabled()
        ? BackupSchedule.daily(addon.getAddonId(), schedule.getHour(), zone).nextFireAfter(clock.instant())
        : null;
    // point-in-time recovery needs its weekly base backup whether or not daily dumps are enabled
    Instant weekly = backedUp && addon.getEngine() == Engine.POSTGRESQL
        ? BackupSchedule.weekly(addon.getAddonId(), schedule.getHour(), zone).nextFireAfter(clock.instant())
        : null;
    if (catalog.apply(addon.getAddonId(), BackupKind.SCHEDULED, revision, state, daily)) {
      log.info("addon {} (revision {}): next scheduled backup {}", addon.getAddonId(), revision,
          daily != null ? daily : "never (" + (backedUp ? "schedule disabled" : "sandbox plan") + ")");
    }
    catalog.apply(addon.getAddonId(), BackupKind.PITR_BASE, revision, state, weekly);
  }
}
