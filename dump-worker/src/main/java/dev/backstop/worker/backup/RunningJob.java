package dev.backstop.worker.backup;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.job.JobLifecycle;
import java.time.Clock;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job this worker holds, as its heartbeat sees it: each beat renews the job's lease and its host
 * slot's, and reports the dump's progress when it moved. A renewal refused means another worker took
 * the job over (this one stalled past its lease): the dump is aborted and its outcome never published.
 */
final class RunningJob {

  private static final Logger log = LoggerFactory.getLogger(RunningJob.class);

  private final BackupRequested request;
  private final JobLifecycle lifecycle;
  private final HostSlots slots;
  private final EventPublisher publisher;
  private final Clock clock;
  private final Instant claimedAt;
  private volatile StreamingArchive archive;
  private volatile String slot;
  private volatile int attempt = 1;
  private volatile boolean lost;
  private long reportedBytes = -1;

  RunningJob(BackupRequested request, JobLifecycle lifecycle, HostSlots slots, EventPublisher publisher, Clock clock) {
    this.request = request;
    this.lifecycle = lifecycle;
    this.slots = slots;
    this.publisher = publisher;
    this.clock = clock;
    this.claimedAt = clock.instant();
  }

  /** When this worker claimed the job from its queue: the end of the backup's queued phase. */
  Instant claimedAt() {
    return claimedAt;
  }

  void dumping(StreamingArchive archive, int attempt) {
    this.attempt = attempt;
    this.archive = archive;
  }

  void holdsSlot(String slot) {
    this.slot = slot;
  }

  String slot() {
    return slot;
  }

  boolean lost() {
    return lost;
  }

  /** One heartbeat; runs on the heartbeat thread. Never throws: a failed beat is retried by the next. */
  void beat() {
    try {
      Instant until = lifecycle.leaseEnd();
      if (!lost && !lifecycle.renew(request.getBackupId(), until)) {
        lost = true;
        log.warn("backup {}: another worker took the job over; this dump is abandoned", request.getBackupId());
        StreamingArchive current = archive;
        if (current != null) {
          current.abort("the job was taken over by another worker");
        }
        return;
      }
      String held = slot;
      if (held != null) {
        slots.renew(held, request.getBackupId(), until);
      }
      StreamingArchive current = archive;
      if (current != null && current.dumpedBytes() != reportedBytes) {
        reportedBytes = current.dumpedBytes();
        publisher.publish(Topics.BACKUP_PROGRESS, request.getAddonId(), new BackupProgress(request.getBackupId(),
            request.getAddonId(), request.getAppName(), clock.instant(), reportedBytes, current.storedBytes(), attempt, lifecycle.owner(), null, null, null, null));
      }
    } catch (RuntimeException e) {
      log.warn("backup {}: heartbeat failed, retried at the next one: {}", request.getBackupId(), e.toString());
    }
  }
}
