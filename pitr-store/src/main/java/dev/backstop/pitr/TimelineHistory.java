package dev.backstop.pitr;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A PostgreSQL timeline history file ({@code 00000002.history}): one line per ancestor timeline, {@code
 * <parentTli>\t<switchLsn>\t<reason>}, the newest last. The file of timeline n lists every timeline before
 * n and where each one ended.
 */
public record TimelineHistory(int timeline, List<Entry> entries) {

  /** Timeline {@code parent} ended (and its child began) at {@code switchLsn}. */
  public record Entry(int parent, Lsn switchLsn, String reason) {}

  public TimelineHistory {
    entries = List.copyOf(entries);
  }

  public static TimelineHistory parse(int timeline, byte[] content) {
    List<Entry> entries = new ArrayList<>();
    for (String line : new String(content, StandardCharsets.UTF_8).split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      String[] fields = trimmed.split("\\s+", 3);
      if (fields.length < 2) {
        throw new IllegalArgumentException("not a timeline history line: " + line);
      }
      entries.add(new Entry(Integer.parseInt(fields[0]), Lsn.parse(fields[1]), fields.length > 2 ? fields[2] : ""));
    }
    return new TimelineHistory(timeline, entries);
  }

  /** Where {@code ancestor} ended on the way to this timeline; null if it is not an ancestor. */
  public Lsn switchPoint(int ancestor) {
    for (Entry e : entries) {
      if (e.parent() == ancestor) {
        return e.switchLsn();
      }
    }
    return null;
  }

  /** The timeline that holds {@code lsn} on the path to this timeline. */
  public int timelineOf(Lsn lsn) {
    for (Entry e : entries) {
      if (lsn.isBefore(e.switchLsn())) {
        return e.parent();
      }
    }
    return timeline;
  }
}
