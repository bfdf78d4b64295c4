package dev.backstop.scheduler.schedule;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.zone.ZoneRules;
import java.util.Optional;

/**
 * When an addon's recurring backup runs: an hour in the customer's zone, every day or on one weekday,
 * plus a fixed offset inside that hour derived from the addon id, so that addons sharing an hour
 * spread over it and each lands at the same minute every time.
 *
 * <p>Daylight saving: on a spring-forward day, an addon whose local time falls in the skipped gap
 * fires at its usual offset after the gap's end (02:17 in a skipped 02:00-03:00 fires at 03:17), so the
 * addons of that hour keep their spread instead of all starting at 03:00:00; a local time that happens
 * twice (fall back) fires at its first occurrence only. So there is exactly one fire time per
 * qualifying local date.
 *
 * @param weekday null for a daily schedule
 */
public record RecurringBackup(int hour, ZoneId zone, Duration offsetInHour, DayOfWeek weekday) {

  public RecurringBackup {
    if (hour < 0 || hour > 23) {
      throw new IllegalArgumentException("hour must be 0 to 23, was " + hour);
    }
    if (offsetInHour.isNegative() || offsetInHour.compareTo(Duration.ofHours(1)) >= 0) {
      throw new IllegalArgumentException("offset must lie inside the hour, was " + offsetInHour);
    }
  }

  /** The daily scheduled backup of {@code addonId}, spread deterministically across {@code hour}. */
  public static RecurringBackup daily(String addonId, int hour, ZoneId zone) {
    return new RecurringBackup(hour, zone, spread(addonId), null);
  }

  /**
   * The weekly point-in-time base backup of {@code addonId}: at its hour, on a weekday derived from
   * its id so that base backups of many addons spread over the week too.
   */
  public static RecurringBackup weekly(String addonId, int hour, ZoneId zone) {
    byte[] digest = digest("weekly|" + addonId);
    return new RecurringBackup(hour, zone, spread(addonId), DayOfWeek.of(1 + (digest[3] & 0xff) % 7));
  }

  /** Whether a backup stands for this local date. */
  public boolean runsOn(LocalDate date) {
    return weekday == null || date.getDayOfWeek() == weekday;
  }

  /** When the backup standing for local date {@code date} is due. */
  public Instant fireTime(LocalDate date) {
    LocalDateTime local = date.atTime(hour, 0).plus(offsetInHour);
    ZoneRules rules = zone.getRules();
    var offsets = rules.getValidOffsets(local);
    if (offsets.isEmpty()) {
      // in the gap: the hour starts when the gap ends (or as usual, if only part of it is skipped), and the
      // addon's offset counts from there
      ZonedDateTime hourStart = ZonedDateTime.of(date, LocalTime.of(hour, 0), zone);
      return hourStart.toInstant().plus(offsetInHour);
    }
    return local.atOffset(offsets.get(0)).toInstant();
  }

  /** The first fire time strictly after {@code now}. */
  public Instant nextFireAfter(Instant now) {
    for (LocalDate date = LocalDate.ofInstant(now, zone).minusDays(1); ; date = date.plusDays(1)) {
      if (runsOn(date)) {
        Instant fire = fireTime(date);
        if (fire.isAfter(now)) {
          return fire;
        }
      }
    }
  }

  /**
   * The local date of the latest fire time at or before {@code now}: the one request a scheduler
   * coming back after downtime owes, however many runs it missed.
   */
  public LocalDate latestDueDate(Instant now) {
    LocalDate date = LocalDate.ofInstant(now, zone).plusDays(1);
    while (!runsOn(date) || fireTime(date).isAfter(now)) {
      date = date.minusDays(1);
    }
    return date;
  }

  /** One request owed: the local date it stands for, and when the entry is due next. */
  public record Due(LocalDate date, Instant nextRunAt) {}

  /**
   * What a scheduler owes at {@code now} for an entry due at {@code nextRunAt}: nothing before that
   * instant; after it, one request for the latest due date (late is fine, a backlog is not), and the
   * next run strictly after now.
   */
  public Optional<Due> dueAt(Instant nextRunAt, Instant now) {
    if (nextRunAt.isAfter(now)) {
      return Optional.empty();
    }
    return Optional.of(new Due(latestDueDate(now), nextFireAfter(now)));
  }

  /**
   * The addon's offset inside its hour: over the first 59 minutes only, so that a scheduler ticking
   * every few seconds still emits every request within its hour.
   */
  static Duration spread(String addonId) {
    byte[] digest = digest(addonId);
    long value = ((digest[0] & 0xffL) << 16) | ((digest[1] & 0xffL) << 8) | (digest[2] & 0xffL);
    return Duration.ofSeconds(value % SPREAD.toSeconds());
  }

  private static final Duration SPREAD = Duration.ofMinutes(59);

  private static byte[] digest(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
