package dev.backstop.scheduler.schedule;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.scheduler.config.SchedulerProperties;
import dev.backstop.scheduler.schedule.ScheduledBackupId;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.FixedDelayTask;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Emits one BackupRequested per due entry. Entries are claimed first (one instance handles each), and
 * the request is published before the entry moves on, so a crash in between repeats a request (same
 * id, dropped downstream) rather than skipping one.
 */
@Component
public class ScheduleTicker implements SchedulingConfigurer {

  private static final Logger log = LoggerFactory.getLogger(ScheduleTicker.class);

  private final ScheduleCatalog catalog;
  private final EventPublisher publisher;
  private final Clock clock;
  private final SchedulerProperties properties;

  private final io.micrometer.core.instrument.MeterRegistry meters;

  public ScheduleTicker(ScheduleCatalog catalog, EventPublisher publisher, Clock clock, SchedulerProperties properties,
      io.micrometer.core.instrument.MeterRegistry meters) {
    this.meters = meters;
    this.catalog = catalog;
    this.publisher = publisher;
    this.clock = clock;
    this.properties = properties;
  }

  /** Ticks every {@code backstop.scheduler.tick}, the first one a tick after start-up. */
  @Override
  public void configureTasks(ScheduledTaskRegistrar registrar) {
    registrar.addFixedDelayTask(new FixedDelayTask(this::tick, properties.tick(), properties.tick()));
  }

  /** Handles every entry due now; returns how many requests it emitted. */
  public int tick() {
    int emitted = 0;
    Instant now = clock.instant();
    while (true) {
      var claimed = catalog.claimDue(now, properties.batchSize());
      List<ScheduleCatalog.Advance> handled = new ArrayList<>();
      for (var entry : claimed) {
        var due = recurrence(entry).dueAt(entry.nextRunAt(), now).orElseThrow();
        // a schedule moved later in the day after today's run must not request today twice
        if (!due.date().equals(entry.lastRequestedFor())) {
          String backupId = ScheduledBackupId.of(entry.addonId(), due.date(), entry.kind().name());
          publisher.publish(Topics.BACKUP_REQUESTS, entry.addonId(), new BackupRequested(backupId, entry.addonId(),
              entry.appName(), entry.kind(), now, due.date().toString(), null, null));
          emitted++;
          // the scheduler's share of the delay from a backup's slot to its start (the worker's: backstop.backup.start.delay)
          io.micrometer.core.instrument.Timer.builder("backstop.schedule.delay")
              .description("From a scheduled backup's slot to its request")
              .tag("kind", entry.kind().name().toLowerCase(java.util.Locale.ROOT))
              .publishPercentileHistogram()
              .register(meters)
              .record(java.time.Duration.between(entry.nextRunAt(), now).isNegative() ? java.time.Duration.ZERO
                  : java.time.Duration.between(entry.nextRunAt(), now));
          log.info("requested {} backup {} of addon {} for {}", entry.kind().name().toLowerCase(), backupId,
              entry.addonId(), due.date());
        }
        handled.add(new ScheduleCatalog.Advance(entry, due.date(), due.nextRunAt()));
      }
      catalog.advance(handled);
      if (claimed.isEmpty()) {
        return emitted;
      }
    }
  }

  private static RecurringBackup recurrence(ScheduleCatalog.Entry entry) {
    var at = entry.at();
    return entry.kind() == BackupKind.PITR_BASE
        ? RecurringBackup.weekly(entry.addonId(), at.hour(), at.zone())
        : RecurringBackup.daily(entry.addonId(), at.hour(), at.zone());
  }
}
