package dev.backstop.gateway.backups;

import dev.backstop.schemas.events.BackupProgress;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * The latest progress report of each running backup, as the listing shows it. Reports are not part of
 * the record (their topic keeps a day and is never replayed), so they live in memory only: each gateway
 * instance reads the topic from its end, and a backup's report is dropped once its outcome arrives.
 */
@Component
public class BackupProgressBoard {

  /**
   * Bytes dumped (before compression) and stored (compressed) by attempt {@code attempt}, as of {@code at};
   * for multi-phase jobs (point-in-time restores) the phase, its work done and total, and the time left.
   */
  public record Progress(long dumpedBytes, long storedBytes, int attempt, Instant at, String phase, Long phaseDone,
      Long phaseTotal, Long etaSeconds) {}

  /** Above this many running backups, reports older than {@link #FORGOTTEN_AFTER} go (their outcome was missed). */
  private static final int CROWDED = 10_000;
  private static final Duration FORGOTTEN_AFTER = Duration.ofHours(1);
  private static final Duration SWEEP_EVERY = Duration.ofMinutes(1);

  private final Map<String, Progress> latest = new ConcurrentHashMap<>();
  /** When the map was last swept: at most once a minute of reports, not on every report while crowded. */
  private volatile Instant sweptAt = Instant.EPOCH;

  /** Keeps the report unless a later one of the same backup is already known (reports may arrive out of order). */
  public void report(BackupProgress event) {
    Progress progress = new Progress(event.getDumpedBytes(), event.getStoredBytes(), event.getAttempt(), event.getAt(),
        event.getPhase(), event.getPhaseDone(), event.getPhaseTotal(), event.getEtaSeconds());
    latest.merge(event.getBackupId(), progress, (known, fresh) -> fresh.at().isBefore(known.at()) ? known : fresh);
    if (latest.size() > CROWDED && progress.at().isAfter(sweptAt.plus(SWEEP_EVERY))) {
      sweptAt = progress.at();
      Instant cutoff = progress.at().minus(FORGOTTEN_AFTER);
      latest.values().removeIf(p -> p.at().isBefore(cutoff));
    }
  }

  /** The backup has ended (or is gone): its progress no longer means anything. */
  public void forget(String backupId) {
    latest.remove(backupId);
  }

  public Optional<Progress> of(String backupId) {
    return Optional.ofNullable(latest.get(backupId));
  }
}
