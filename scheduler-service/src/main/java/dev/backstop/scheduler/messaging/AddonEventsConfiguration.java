package dev.backstop.scheduler.messaging;

import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.scheduler.schedule.DailySchedule;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
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

/** Keeps the schedule catalog in step with {@code backstop.addons}. */
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
          if (catalog.apply(e.getAddonId(), e.getRevision(), new Document("removed", true), null)) {
            log.info("addon {} removed: no more scheduled backups", e.getAddonId());
          }
        }
        default -> log.debug("ignoring {}", event.getClass().getSimpleName());
      }
    };
  }

  private static void apply(ScheduleCatalog catalog, Clock clock, AddonSpec addon, long revision) {
    var schedule = addon.getSchedule();
    boolean scheduled = addon.getPlan() != Plan.SANDBOX && schedule.getEnabled();
    Instant next = scheduled
        ? DailySchedule.of(addon.getAddonId(), schedule.getHour(), ZoneId.of(schedule.getTimezone()))
            .nextFireAfter(clock.instant())
        : null;
    Document state = new Document("appName", addon.getAppName())
        .append("plan", addon.getPlan().name())
        .append("engine", addon.getEngine().name())
        .append("hour", schedule.getHour())
        .append("timezone", schedule.getTimezone())
        .append("enabled", schedule.getEnabled());
    if (catalog.apply(addon.getAddonId(), revision, state, next)) {
      log.info("addon {} (revision {}): next scheduled backup {}", addon.getAddonId(), revision,
          next == null ? "never (" + (scheduled ? "" : addon.getPlan() == Plan.SANDBOX ? "sandbox plan" : "disabled") + ")" : next);
    }
  }
}
