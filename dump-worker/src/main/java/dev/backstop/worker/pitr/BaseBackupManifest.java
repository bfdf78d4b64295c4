package dev.backstop.worker.pitr;

import dev.backstop.pitr.Lsn;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a base backup needs from the WAL archive, read from the {@code WAL-Ranges} of its
 * {@code backup_manifest} (PostgreSQL 13 and later):
 * <pre>
 * "WAL-Ranges": [
 * { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }
 * ],
 * </pre>
 * A base taken on a standby whose timeline changed during the backup lists one range per timeline; replay
 * then starts at the smallest start and must reach the largest end, on the timeline of that end.
 */
record BaseBackupManifest(int timeline, Lsn startLsn, Lsn stopLsn) {

  private static final Pattern RANGES = Pattern.compile("\"WAL-Ranges\"\\s*:\\s*\\[(.*?)\\]", Pattern.DOTALL);
  private static final Pattern RANGE = Pattern.compile("\\{\\s*\"Timeline\"\\s*:\\s*(\\d+)\\s*,\\s*\"Start-LSN\"\\s*:\\s*\""
      + "([0-9A-Fa-f]+/[0-9A-Fa-f]+)\"\\s*,\\s*\"End-LSN\"\\s*:\\s*\"([0-9A-Fa-f]+/[0-9A-Fa-f]+)\"\\s*\\}");

  private record Range(int timeline, Lsn start, Lsn end) {}

  /**
   * Reads the manifest's end; throws {@link IllegalArgumentException} with a reason when it holds no
   * WAL range that can be read.
   */
  static BaseBackupManifest parse(String manifestTail) {
    Matcher ranges = RANGES.matcher(manifestTail);
    if (!ranges.find()) {
      throw new IllegalArgumentException("the backup manifest has no WAL-Ranges");
    }
    List<Range> found = new ArrayList<>();
    Matcher range = RANGE.matcher(ranges.group(1));
    while (range.find()) {
      found.add(new Range(Integer.parseInt(range.group(1)), Lsn.parse(range.group(2)), Lsn.parse(range.group(3))));
    }
    if (found.isEmpty()) {
      throw new IllegalArgumentException("the backup manifest's WAL-Ranges list no range");
    }
    Range last = found.getFirst();
    Lsn start = found.getFirst().start();
    for (Range r : found) {
      if (r.end().isAfter(last.end())) {
        last = r;
      }
      if (r.start().isBefore(start)) {
        start = r.start();
      }
    }
    if (last.end().isBefore(start)) {
      throw new IllegalArgumentException("the backup manifest's WAL range ends before it starts");
    }
    return new BaseBackupManifest(last.timeline(), start, last.end());
  }
}
