package dev.backstop.scheduler.messaging;

import dev.backstop.kit.addon.Addon;
import dev.backstop.scheduler.missed.MissedBackupWatchdog;
import dev.backstop.scheduler.schedule.AddonSchedules;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Feeds {@code backstop.addons} into the schedule entries ({@link AddonSchedules}) and the watchdog's watches. */
@Configuration
public class AddonEventsConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonSchedules schedules, MissedBackupWatchdog watchdog) {
    return event -> {
      switch (event) {
        case AddonRegistered e -> {
          schedules.apply(Addon.of(e.getAddon(), e.getRevision()));
          watchdog.apply(Addon.of(e.getAddon(), e.getRevision()));
        }
        case AddonChanged e -> {
          schedules.apply(Addon.of(e.getAddon(), e.getRevision()));
          watchdog.apply(Addon.of(e.getAddon(), e.getRevision()));
        }
        case AddonRemoved e -> {
          schedules.remove(e.getAddonId(), e.getRevision());
          watchdog.remove(e.getAddonId(), e.getRevision());
        }
        default -> { }
      }
    };
  }
}
