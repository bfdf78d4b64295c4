package dev.backstop.walarchiver;

import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the streams this instance owns: every {@link #tick()} it renews its leases (a refused renewal stops
 * that stream at once: someone else owns the addon now), claims eligible addons whose lease is free (up to
 * {@code maxStreams}), and stops streams of addons no longer eligible, dropping their slot.
 */
public final class StreamSupervisor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StreamSupervisor.class);

  /** Which addons should be streamed now, and from which node. */
  public interface Eligible {
    List<StreamTarget> targets();
  }

  /** Work that runs beside a stream while this instance owns it (the window's tracker). */
  public interface Monitor extends Runnable {
    /** Ends {@link #run()} soon. */
    void stop();
  }

  /** A stream to run for an owned addon, and its monitor (null: none). */
  public record Run(WalStream stream, Monitor monitor) {}

  /** Builds the stream of an addon just claimed at {@code epoch}. */
  public interface StreamFactory {
    Run start(StreamTarget target, long epoch);
  }

  private record Owned(StreamTarget target, long epoch, WalStream stream, Thread thread, Monitor monitor,
      Thread monitorThread) {

    /** Stops the monitor and waits for it: nothing of this ownership is written after. */
    void stopMonitor() {
      if (monitor != null) {
        monitor.stop();
        try {
          monitorThread.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  private final Duration auditInterval;
  private java.time.Instant lastAudit = java.time.Instant.MIN;

  private final StreamLeases leases;
  private final Eligible eligible;
  private final StreamFactory streams;
  private final Clock clock;
  private final String owner;
  private final Duration lease;
  private final int maxStreams;
  private final Map<String, Owned> owned = new HashMap<>();

  StreamSupervisor(StreamLeases leases, Eligible eligible, StreamFactory streams, Clock clock,
      String owner, Duration lease, int maxStreams, Duration auditInterval) {
    this.auditInterval = auditInterval;
    this.leases = leases;
    this.eligible = eligible;
    this.streams = streams;
    this.clock = clock;
    this.owner = owner;
    this.lease = lease;
    this.maxStreams = maxStreams;
  }

  public synchronized void tick() {
    for (var it = owned.values().iterator(); it.hasNext(); ) {
      Owned o = it.next();
      if (!leases.renew(o.target().addonId(), owner, o.epoch(), clock.instant(), lease)) {
        log.warn("lease of {} taken over by another instance: stopping its stream at once", o.target().addonId());
        o.stream().kill();
        if (o.monitor() != null) {
          o.monitor().stop();
        }
        it.remove();
      }
    }
    Map<String, StreamTarget> wanted = eligible.targets().stream()
        .collect(Collectors.toMap(StreamTarget::addonId, t -> t, (a, b) -> a));
    for (String addonId : Set.copyOf(owned.keySet())) {
      Owned o = owned.get(addonId);
      StreamTarget now = wanted.get(addonId);
      if (now == null) {
        retire(o, true);
      } else if (!now.equals(o.target())) {
        retire(o, false); // another node or credentials: the stream restarts from the same slot name there
      }
    }
    for (StreamTarget target : wanted.values()) {
      if (owned.size() >= maxStreams || owned.containsKey(target.addonId())) {
        continue;
      }
      OptionalLong epoch = leases.claim(target.addonId(), owner, clock.instant(), lease);
      if (epoch.isPresent()) {
        Run run = streams.start(target, epoch.getAsLong());
        Thread thread = Thread.ofPlatform().name("wal-stream-" + target.addonId()).daemon().start(run.stream());
        Thread monitorThread = run.monitor() == null ? null
            : Thread.ofPlatform().name("wal-window-" + target.addonId()).daemon().start(run.monitor());
        owned.put(target.addonId(), new Owned(target, epoch.getAsLong(), run.stream(), thread, run.monitor(), monitorThread));
        log.info("streaming WAL of {} (epoch {})", target, epoch.getAsLong());
      }
    }
  }

  /** Checks every owned stream's archive for holes, at most every {@code auditInterval}. */
  public void auditIfDue() {
    List<Owned> streams;
    synchronized (this) {
      if (clock.instant().isBefore(lastAudit.plus(auditInterval))) {
        return;
      }
      lastAudit = clock.instant();
      streams = List.copyOf(owned.values());
    }
    for (Owned o : streams) {
      try {
        o.stream().audit();
      } catch (Exception e) {
        log.warn("could not audit the WAL archive of {}: {}", o.target().addonId(), e.toString());
      }
    }
  }

  /** Addons whose streams run here. */
  public synchronized Set<String> owned() {
    return Set.copyOf(owned.keySet());
  }

  private void retire(Owned o, boolean dropSlot) {
    owned.remove(o.target().addonId());
    o.stream().stop();
    try {
      o.thread().join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    o.stopMonitor();
    if (dropSlot) {
      // a return to a plan with point-in-time recovery starts a new archive (and requests its base)
      leases.clearFacts(o.target().addonId(), owner, o.epoch());
      try (Connection sql = DriverManager.getConnection(o.target().url(), o.target().properties(false))) {
        SlotKeeper.drop(sql, o.target().slotName());
        log.info("addon {} no longer streamed: slot {} dropped", o.target().addonId(), o.target().slotName());
      } catch (Exception e) {
        // not retried yet: an operator may have to drop it (README)
        log.warn("addon {}: could not drop slot {}: {}", o.target().addonId(), o.target().slotName(), e.toString());
      }
      for (StreamTarget.Node node : o.target().others()) {
        try (Connection sql = DriverManager.getConnection(node.url(), o.target().properties(false))) {
          SlotKeeper.drop(sql, o.target().slotName());
        } catch (Exception e) {
          log.warn("addon {}: could not drop slot {} on {}: {}", o.target().addonId(), o.target().slotName(), node,
              e.toString());
        }
      }
    }
    leases.release(o.target().addonId(), owner, o.epoch(), clock.instant());
  }

  /** Stops every stream after its last chunk is stored, and gives the leases up. */
  @Override
  public synchronized void close() {
    for (Owned o : List.copyOf(owned.values())) {
      owned.remove(o.target().addonId());
      o.stream().stop();
      try {
        o.thread().join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      o.stopMonitor();
      leases.release(o.target().addonId(), owner, o.epoch(), clock.instant());
    }
  }
}
