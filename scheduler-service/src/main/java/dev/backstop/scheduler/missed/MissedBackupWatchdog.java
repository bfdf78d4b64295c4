package dev.backstop.scheduler.missed;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.scheduler.catalog.MissedBackupCatalog;
import dev.backstop.scheduler.catalog.MissedBackupCatalog.StoredMissed;
import dev.backstop.scheduler.catalog.MissedBackupCatalog.StoredWatch;
import dev.backstop.scheduler.config.SchedulerProperties;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.scheduler.schedule.ScheduledBackupId;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupMissed;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.FixedDelayTask;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Checks that "never skipped" holds: every tick it judges each addon's watched day once that day's
 * fire time plus the grace has passed ({@link MissedBackupRule}), emits one {@code BackupMissed} on
 * {@code backstop.backup-events} for a day without a backup, and moves on to the next day.
 *
 * <p>One report per addon and day, replay or not: the report's id is derived from (addon, day); a day
 * already recorded as reported (the scheduler reads its own {@code BackupMissed} back from the topic,
 * and records it as soon as it is published) is never reported again; and a state rebuilt from the
 * topics watches each addon from its next run on, so old days are not judged again. Two instances
 * judging the same day at once may both publish it, with the same id: consumers drop the repeat.
 */
@Component
public class MissedBackupWatchdog implements SchedulingConfigurer {

  private static final Logger log = LoggerFactory.getLogger(MissedBackupWatchdog.class);

  private final MissedBackupCatalog catalog;
  private final EventPublisher publisher;
  private final Clock clock;
  private final SchedulerProperties properties;
  private final MissedBackupRule rule;

  public MissedBackupWatchdog(MissedBackupCatalog catalog, EventPublisher publisher, Clock clock, SchedulerProperties properties) {
    this.catalog = catalog;
    this.publisher = publisher;
    this.clock = clock;
    this.properties = properties;
    this.rule = new MissedBackupRule(properties.missedGrace());
  }

  @Override
  public void configureTasks(ScheduledTaskRegistrar registrar) {
    registrar.addFixedDelayTask(new FixedDelayTask(this::tick, properties.tick(), properties.tick()));
  }

  /**
   * The addon as of its revision: its watch restarts at its next run (a changed schedule or plan forgives
   * the day it changed on); a sandbox, disabled or removed addon is not watched.
   */
  public void apply(Addon addon) {
    var at = addon.schedule().at();
    if (addon.removed() || !addon.hasBackups() || !addon.schedule().enabled()) {
      catalog.watch(addon.id(), addon.revision(), addon.appName(), at, null, null);
      return;
    }
    RecurringBackup schedule = RecurringBackup.daily(addon.id(), at.hour(), at.zone());
    LocalDate day = MissedBackupRule.firstDayToWatch(schedule, clock.instant());
    catalog.watch(addon.id(), addon.revision(), addon.appName(), at, day, rule.checkAt(schedule, day));
  }

  /** The addon was removed at {@code revision}: nothing more to watch. */
  public void remove(String addonId, long revision) {
    catalog.watch(addonId, revision, null, null, null, null);
  }

  /** Judges every watched day that is due; returns how many days it reported missed. */
  public int tick() {
    Instant now = clock.instant();
    int reported = 0;
    // a watch moves on (or waits until later) once judged, so each pass finds fewer; the bound only guards
    // against a store that would not take the move
    for (int pass = 0; pass < 1000; pass++) {
      var due = catalog.due(now, properties.batchSize());
      if (due.isEmpty()) {
        break;
      }
      for (StoredWatch watch : due) {
        reported += judge(watch, now) ? 1 : 0;
      }
    }
    return reported;
  }

  private boolean judge(StoredWatch watch, Instant now) {
    RecurringBackup schedule = RecurringBackup.daily(watch.addonId(), watch.at().hour(), watch.at().zone());
    LocalDate day = watch.day();
    String backupId = ScheduledBackupId.of(watch.addonId(), day, BackupKind.SCHEDULED.name());
    var verdict = rule.judge(schedule, day, catalog.day(backupId), watch.lastSucceededAt(), now);
    boolean reported = false;
    switch (verdict) {
      case MissedBackupRule.Verdict.Wait wait -> {
        catalog.moveOn(watch, day, wait.until());
        return false;
      }
      case MissedBackupRule.Verdict.Fine fine -> { }
      case MissedBackupRule.Verdict.Missed missed -> {
        String missedId = MissedBackupRule.missedId(watch.addonId(), day);
        if (!catalog.wasReported(missedId)) {
          boolean requested = missed.finding() != dev.backstop.schemas.events.MissedFinding.NEVER_REQUESTED;
          // published first, recorded after: a crash in between repeats the report (same id), never loses it
          publisher.publish(Topics.BACKUP_EVENTS, watch.addonId(), new BackupMissed(missedId, watch.addonId(),
              watch.appName(), day.toString(), schedule.fireTime(day), now, missed.finding(), requested ? backupId : null,
              missed.detail()));
          catalog.reported(new StoredMissed(missedId, watch.addonId(), day.toString(), missed.finding().name(), now));
          log.warn("addon {} has no backup for {}: {} ({})", watch.addonId(), day, missed.finding(), missed.detail());
          reported = true;
        }
      }
    }
    LocalDate next = day.plusDays(1);
    catalog.moveOn(watch, next, rule.checkAt(schedule, next));
    return reported;
  }
}
