package dev.backstop.scheduler.schedule;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneRules;

/**
 * An addon's daily backup time: an hour in the customer's zone, plus a fixed offset inside that hour
 * derived from the addon id, so that addons sharing an hour spread over it and each lands at the same
 * minute every day.
 *
 * <p>Daylight saving: a local time that does not exist (spring forward) fires at the first instant
 * after the gap; a local time that happens twice (fall back) fires at its first occurrence only.
 */
public record DailySchedule(int hour, ZoneId zone, Duration offsetInHour) {

  public DailySchedule {
    if (hour < 0 || hour > 23) {
      throw new IllegalArgumentException("hour must be 0 to 23, was " + hour);
    }
    if (offsetInHour.isNegative() || offsetInHour.compareTo(Duration.ofHours(1)) >= 0) {
      throw new IllegalArgumentException("offset must lie inside the hour, was " + offsetInHour);
    }
  }

  /** The schedule of {@code addonId}, spread deterministically across {@code hour}. */
  public static DailySchedule of(String addonId, int hour, ZoneId zone) {
    return new DailySchedule(hour, zone, spread(addonId));
  }

  /** When the backup standing for local date {@code date} is due. */
  public Instant fireTime(LocalDate date) {
    LocalDateTime local = date.atTime(hour, 0).plus(offsetInHour);
    ZoneRules rules = zone.getRules();
    var offsets = rules.getValidOffsets(local);
    if (offsets.isEmpty()) {
      return rules.getTransition(local).getInstant();
    }
    return local.atOffset(offsets.get(0)).toInstant();
  }

  /** The first fire time strictly after {@code now}. */
  public Instant nextFireAfter(Instant now) {
    LocalDate today = LocalDate.ofInstant(now, zone);
    for (LocalDate date = today.minusDays(1); ; date = date.plusDays(1)) {
      Instant fire = fireTime(date);
      if (fire.isAfter(now)) {
        return fire;
      }
    }
  }

  /**
   * The local date of the latest fire time at or before {@code now}: the one request a scheduler
   * coming back after downtime owes, however many days it missed.
   */
  public LocalDate latestDueDate(Instant now) {
    LocalDate date = LocalDate.ofInstant(now, zone).plusDays(1);
    while (fireTime(date).isAfter(now)) {
      date = date.minusDays(1);
    }
    return date;
  }

  static Duration spread(String addonId) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(addonId.getBytes(StandardCharsets.UTF_8));
      long value = ((digest[0] & 0xffL) << 16) | ((digest[1] & 0xffL) << 8) | (digest[2] & 0xffL);
      return Duration.ofSeconds(value % 3600);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
