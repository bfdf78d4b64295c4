package dev.backstop.worker.backup;

import dev.backstop.schemas.events.BackupTimings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a backup's time went, phase by phase, in the worker's log line: queued (request to claim),
 * preparing (claim to dump start: addon lookup, replica probe, host slot), waiting for the first byte
 * (the table count, the server's version asked, the tool's start, locks and catalog reads), dumping,
 * finishing the archive, storing it.
 */
final class PhaseBreakdown {

  private PhaseBreakdown() {}

  static String describe(Instant requestedAt, BackupTimings t, long archiveNanos) {
    List<String> parts = new ArrayList<>();
    add(parts, "queued", requestedAt, t.getClaimedAt());
    add(parts, "preparing", t.getClaimedAt(), t.getDumpStartedAt());
    add(parts, "first byte", t.getDumpStartedAt(), t.getFirstByteAt());
    add(parts, "dump", t.getFirstByteAt() != null ? t.getFirstByteAt() : t.getDumpStartedAt(), t.getDumpEndedAt());
    parts.add("archive " + format(Duration.ofNanos(archiveNanos)));
    if (t.getDumpEndedAt() != null && t.getStoredAt() != null) {
      // the store phase is what is left between the dump's end and the store's answer, the archive's finishing excluded
      parts.add("store " + format(Duration.between(t.getDumpEndedAt(), t.getStoredAt()).minusNanos(archiveNanos)));
    }
    add(parts, "total", requestedAt, t.getRecordedAt());
    return String.join(", ", parts);
  }

  private static void add(List<String> parts, String phase, Instant from, Instant to) {
    if (from != null && to != null) {
      parts.add(phase + " " + format(Duration.between(from, to)));
    }
  }

  static String format(Duration d) {
    long ms = Math.max(0, d.toMillis());
    return ms < 10_000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
  }
}
