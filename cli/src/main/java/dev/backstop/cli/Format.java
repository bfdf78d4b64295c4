package dev.backstop.cli;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Output as the reference CLI prints it: boxed tables, sizes, dates, progress. */
final class Format {

  private static final DateTimeFormatter CREATED_AT = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss z", Locale.ENGLISH);

  private Format() {}

  /**
   * The width the reference gives the CREATED AT column: room for a four-letter zone (CEST), so a
   * winter date (CET) has a space to spare.
   */
  static final int CREATED_AT_WIDTH = "Thu, 07 Dec 2023 01:00:10 CEST".length();

  /** A boxed table: headers centred, cells left-aligned, each column as wide as its widest text. */
  static String table(List<String> headers, List<List<String>> rows) {
    return table(headers, rows, new int[headers.size()]);
  }

  /** The same, each column at least {@code minWidths[i]} wide. */
  static String table(List<String> headers, List<List<String>> rows, int... minWidths) {
    int[] widths = new int[headers.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = Math.max(headers.get(i).length(), i < minWidths.length ? minWidths[i] : 0);
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder rule = new StringBuilder("+");
    for (int w : widths) {
      rule.append("-".repeat(w + 2)).append('+');
    }
    StringBuilder out = new StringBuilder(rule).append('\n').append('|');
    for (int i = 0; i < widths.length; i++) {
      String h = headers.get(i);
      int left = (widths[i] - h.length()) / 2;
      out.append(' ').append(" ".repeat(left)).append(h).append(" ".repeat(widths[i] - h.length() - left)).append(" |");
    }
    out.append('\n').append(rule).append('\n');
    for (List<String> row : rows) {
      out.append('|');
      for (int i = 0; i < widths.length; i++) {
        out.append(' ').append(row.get(i)).append(" ".repeat(widths[i] - row.get(i).length())).append(" |");
      }
      out.append('\n');
    }
    // closed even when empty, as the reference's tables are: a rule under the header, then the closing one
    return out.append(rule).append('\n').toString();
  }

  /** {@code 143 kB}: decimal units, as the reference listing shows sizes. */
  static String size(long bytes) {
    if (bytes < 1000) {
      return bytes + " B";
    }
    String[] units = {"kB", "MB", "GB", "TB", "PB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit++;
    }
    return String.format(Locale.ROOT, value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
  }

  /** {@code 139.37 KiB}: binary units with two decimals, as the download progress shows them. */
  static String binarySize(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
  }

  static String createdAt(String iso, ZoneId zone) {
    return iso == null ? "" : CREATED_AT.format(Instant.parse(iso).atZone(zone));
  }

  private static final java.util.regex.Pattern LOCAL_TIME = java.util.regex.Pattern.compile(
      "(\\d{4}-\\d{2}-\\d{2})[ T](\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,3})?)?)(?:\\s*(\\S+))?");

  /**
   * An instant as people type it: {@code 2026-12-01 14:02:30} in {@code zone} (this machine's), or with a zone
   * or offset after it ({@code 2026-12-01 14:02:30 UTC}, {@code … Europe/Paris}, {@code … +01:00}), or RFC 3339
   * ({@code 2026-12-01T14:02:30Z}). A local time that a clock change makes ambiguous is the earlier instant;
   * one it skips is moved forward by the gap.
   */
  static Instant instantAt(String text, ZoneId zone) {
    String trimmed = text.strip();
    try {
      return java.time.OffsetDateTime.parse(trimmed).toInstant();
    } catch (java.time.format.DateTimeParseException notRfc3339) {
      // a local time, maybe with a zone
    }
    var m = LOCAL_TIME.matcher(trimmed);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a time: " + text + " (write e.g. \"2026-12-01 14:02:30\", optionally followed by a zone)");
    }
    String clock = m.group(2).length() <= 5 ? m.group(2) + ":00" : m.group(2);
    if (clock.indexOf(':') == 1) {
      clock = "0" + clock;
    }
    java.time.LocalDateTime local = java.time.LocalDateTime.parse(m.group(1) + "T" + clock);
    ZoneId in = zone;
    if (m.group(3) != null) {
      String name = m.group(3);
      try {
        in = name.startsWith("+") || name.startsWith("-") ? java.time.ZoneOffset.of(name)
            : ZoneId.of(name.equalsIgnoreCase("utc") || name.equals("Z") ? "UTC" : name, ZoneId.SHORT_IDS);
      } catch (java.time.DateTimeException e) {
        throw new IllegalArgumentException("unknown time zone: " + name);
      }
    }
    return local.atZone(in).toInstant();
  }

  /**
   * One line of a point-in-time restore's progress: {@code replaying WAL 48.00 MiB / 96.00 MiB [-----   ] 50.00%, about 12 s left}.
   */
  static String restoreProgress(tools.jackson.databind.JsonNode restore) {
    String status = restore.get("status").asString();
    var phase = restore.get("phase");
    if (phase == null || phase.isNull()) {
      return status.equals("pending") ? "waiting for a worker" : "starting";
    }
    String name = switch (phase.asString()) {
      case "fetching-base" -> "fetching the base backup";
      case "replaying-wal" -> "replaying WAL";
      case "dumping" -> "dumping";
      case "restoring-into-target" -> "restoring into the operator's database";
      default -> phase.asString();
    };
    var progress = restore.get("progress");
    if (progress == null || progress.isNull()) {
      return name;
    }
    var done = progress.get("done");
    var total = progress.get("total");
    var eta = progress.get("etaSeconds");
    String line = name;
    if (done != null && !done.isNull() && total != null && !total.isNull() && total.asLong() > 0) {
      int width = 20;
      double ratio = Math.min(1, (double) done.asLong() / total.asLong());
      int filled = (int) Math.round(ratio * width);
      line += " " + binarySize(done.asLong()) + " / " + binarySize(total.asLong()) + " [" + "-".repeat(filled)
          + " ".repeat(width - filled) + "] " + String.format(Locale.ROOT, "%.2f%%", ratio * 100);
    } else if (done != null && !done.isNull()) {
      line += " " + binarySize(done.asLong());
    }
    if (eta != null && !eta.isNull()) {
      line += ", about " + eta.asLong() + " s left";
    }
    return line;
  }

  /** {@code 139.37 KiB / 139.37 KiB [-----...] 100.00% ? p/s} */
  static String progress(long done, long total) {
    int width = 34;
    double ratio = total == 0 ? 1 : (double) done / total;
    int filled = (int) Math.round(ratio * width);
    return binarySize(done) + " / " + binarySize(total) + " [" + "-".repeat(filled) + " ".repeat(width - filled) + "] "
        + String.format(Locale.ROOT, "%.2f%%", ratio * 100) + " ? p/s";
  }

  /** The product name the reference's addons table shows: {@code PostgreSQL}, {@code MySQL}. */
  static String product(String engine) {
    return switch (engine.toLowerCase(Locale.ROOT)) {
      case "postgresql" -> "PostgreSQL";
      case "mysql" -> "MySQL";
      default -> engine;
    };
  }

  /** The plan as the reference names it, product first: {@code postgresql-starter}. */
  static String planName(String engine, String plan) {
    return engine.toLowerCase(Locale.ROOT) + "-" + plan.toLowerCase(Locale.ROOT);
  }

  /**
   * The point-in-time recovery window, in the {@code ----->} style of the other commands: the state, then
   * the window in the user's zone (dates as the backups table shows them) or why there is none.
   */
  static String pitrWindow(String state, String earliest, String latest, String reason, ZoneId zone) {
    StringBuilder out = new StringBuilder("-----> Point-in-time recovery: ").append(state).append('\n');
    if (earliest != null && latest != null) {
      // shown to the second, each end moved inwards: a time copied from here into pitr-restore --at is never
      // refused for lying a fraction of a second before earliest (or after latest)
      Instant from = Instant.parse(earliest);
      Instant firstWhole = from.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
      if (firstWhole.isBefore(from)) {
        firstWhole = firstWhole.plusSeconds(1);
      }
      out.append("       Restorable from ").append(createdAt(firstWhole.toString(), zone)).append(" to ")
          .append(createdAt(latest, zone)).append('\n');
    }
    if (reason != null && !reason.isEmpty()) {
      out.append("       ").append(reason).append('\n');
    }
    return out.toString();
  }

  static List<String> row(String... cells) {
    return new ArrayList<>(List.of(cells));
  }
}
