package dev.backstop.scheduler.messaging;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.scheduler.config.SchedulerProperties;
import dev.backstop.scheduler.schedule.ScheduledBackupId;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Emits one BackupRequested per due addon. The request is published before the entry moves on, so a
 * crash in between repeats a request (same id, dropped downstream) rather than skipping one.
 */
@Component
public class ScheduleTicker {

  private static final Logger log = LoggerFactory.getLogger(ScheduleTicker.class);

  private final ScheduleCatalog catalog;
  private final EventPublisher publisher;
  private final Clock clock;
  private final SchedulerProperties properties;

  public ScheduleTicker(ScheduleCatalog catalog, EventPublisher publisher, Clock clock, SchedulerProperties properties) {
    this.catalog = catalog;
    this.publisher = publisher;
    this.clock = clock;
    this.properties = properties;
  }

  @Scheduled(fixedDelayString = "${backstop.scheduler.tick:PT15S}", initialDelayString = "${backstop.scheduler.tick:PT15S}")
  public void scheduledTick() {
    tick();
  }

  /** Handles every addon due now; returns how many requests it emitted. */
  public int tick() {
    int emitted = 0;
    Instant now = clock.instant();
    while (true) {
      var due = catalog.due(now, properties.getBatchSize());
      for (var entry : due) {
        var schedule = entry.schedule();
        LocalDate date = schedule.latestDueDate(now);
        String backupId = ScheduledBackupId.of(entry.addonId(), date, BackupKind.SCHEDULED.name());
        publisher.publish(Topics.BACKUP_REQUESTS, entry.addonId(),
            new BackupRequested(backupId, entry.addonId(), entry.appName(), BackupKind.SCHEDULED, now, date.toString()));
        if (catalog.advance(entry, date, schedule.nextFireAfter(now))) {
          emitted++;
          log.info("requested scheduled backup {} of addon {} for {}", backupId, entry.addonId(), date);
        }
      }
      if (due.size() < properties.getBatchSize()) {
        return emitted;
      }
    }
  }
}
