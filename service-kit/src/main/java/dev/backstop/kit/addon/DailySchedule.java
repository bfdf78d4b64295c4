package dev.backstop.kit.addon;

import dev.backstop.schemas.events.BackupSchedule;
import java.time.ZoneId;

/**
 * When an addon's daily backup runs: the one typed form of the schedule between the API's JSON, the
 * stored addon, the {@code BackupSchedule} of the addon events and the scheduler's entries.
 */
public record DailySchedule(boolean enabled, BackupTime at) {

  /** What an addon registered without a schedule gets: enabled, at 01:00 Europe/Paris. */
  public static final DailySchedule DEFAULT = new DailySchedule(true, new BackupTime(1, ZoneId.of("Europe/Paris")));

  public DailySchedule {
    if (at == null) {
      throw new IllegalArgumentException("a schedule has a time");
    }
  }

  public static DailySchedule of(BackupSchedule avro) {
    return new DailySchedule(avro.getEnabled(), new BackupTime(avro.getHour(), ZoneId.of(avro.getTimezone())));
  }

  public BackupSchedule toAvro() {
    return new BackupSchedule(enabled, at.hour(), at.zone().getId());
  }
}
