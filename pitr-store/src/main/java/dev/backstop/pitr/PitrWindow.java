package dev.backstop.pitr;

import java.time.Instant;
import java.util.List;

/**
 * An addon's recoverable window: every instant in {@code [earliest, latest]} can be restored.
 * {@code earliest}/{@code latest} are null while no base is usable; {@code reason} says why the state is
 * what it is (for people); {@code slotWarning} is set when the server's {@code max_slot_wal_keep_size} was
 * reached (WAL at risk); {@code systemId} gates restore planning (two clusters never mix).
 */
public record PitrWindow(
    String addonId,
    PitrState state,
    Instant earliest,
    Instant latest,
    String reason,
    Instant brokenSince,
    String slotWarning,
    long systemId,
    List<BaseRef> bases) {

  public PitrWindow {
    bases = List.copyOf(bases);
  }

  public static PitrWindow unavailable(String addonId, String reason) {
    return new PitrWindow(addonId, PitrState.UNAVAILABLE, null, null, reason, null, null, 0, List.of());
  }
}
