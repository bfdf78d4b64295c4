package dev.backstop.kit.addon;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The hour of the daily backup as customers write it ({@code 3}, {@code 3:00}, {@code "4:00 UTC"},
 * {@code "4:00 Europe/Paris"}) and as the platform answers it ({@code 6:00 CET}).
 */
public record BackupTime(int hour, ZoneId zone) {

  public BackupTime {
    if (hour < 0 || hour > 23 || zone == null) {
      throw new IllegalArgumentException("a backup time is an hour from 0 to 23 in a time zone, not " + hour + " " + zone);
    }
  }

  /** What {@link #parse} accepts, in the words of its error messages. */
  public static final String ACCEPTED =
      "an hour from 0 to 23, optionally with ':00' and a time zone: 3, 3:00, \"4:00 UTC\" or \"4:00 Europe/Paris\"";

  private static final Pattern FORM = Pattern.compile("(\\d{1,2})(?::(\\d{2}))?(?:\\s+(\\S+))?");
  private static final DateTimeFormatter ZONE_NAME = DateTimeFormatter.ofPattern("z", Locale.ENGLISH);

  /**
   * Parses {@code text}; without a zone in it, the hour is in {@code defaultZone} (the CLI sends the
   * caller's local zone).
   *
   * @throws IllegalArgumentException with a message that says what is accepted
   */
  public static BackupTime parse(String text, ZoneId defaultZone) {
    Matcher m = FORM.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("cannot read '" + text + "' as a backup time: use " + ACCEPTED);
    }
    int hour = Integer.parseInt(m.group(1));
    if (hour > 23) {
      throw new IllegalArgumentException("hour " + hour + " does not exist: use " + ACCEPTED);
    }
    if (m.group(2) != null && !m.group(2).equals("00")) {
      throw new IllegalArgumentException(
          "backups are scheduled on the hour, so '" + text.trim() + "' cannot be used: use " + hour + ":00");
    }
    ZoneId zone = m.group(3) == null ? defaultZone : zone(m.group(3));
    return new BackupTime(hour, zone);
  }

  /** An IANA zone id (Europe/Paris, UTC) or a short id Java knows (CET, EST), in any letter case (utc, europe/paris). */
  public static ZoneId zone(String name) {
    try {
      return ZoneId.of(name, ZoneId.SHORT_IDS);
    } catch (DateTimeException e) {
      // people type utc or cet: the ids are case-sensitive, the names they stand for are not
      String spelled = name == null ? null : Stream.concat(ZoneId.getAvailableZoneIds().stream(), ZoneId.SHORT_IDS.keySet().stream())
          .filter(id -> id.equalsIgnoreCase(name))
          .findFirst().orElse(null);
      if (spelled != null) {
        return ZoneId.of(spelled, ZoneId.SHORT_IDS);
      }
      throw new IllegalArgumentException(
          "unknown time zone '" + name + "': use an IANA zone such as UTC, Europe/Paris or America/New_York");
    }
  }

  /**
   * {@code 6:00 CET}: the hour and the zone's abbreviation as it stands on the day of the next run
   * (so CEST in summer).
   */
  public String describe(Instant now) {
    LocalDate day = LocalDate.ofInstant(now, zone);
    ZonedDateTime at = ZonedDateTime.of(day, LocalTime.of(hour, 0), zone);
    if (!at.toInstant().isAfter(now)) {
      at = ZonedDateTime.of(day.plusDays(1), LocalTime.of(hour, 0), zone);
    }
    return hour + ":00 " + ZONE_NAME.format(at);
  }
}
