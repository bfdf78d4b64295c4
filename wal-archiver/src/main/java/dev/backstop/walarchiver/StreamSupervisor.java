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
 *
 * <p>Node choice, as dumps make it: a stream on the secondary whose node has been unreachable for {@code
 * fallbackAfter} moves to the primary, with the reason in its target (and so in the window). It resumes from
 * the primary's slot, which the window's tracker keeps just behind the archive, never past it: no gap, and
 * the rule holds. While the primary stands in, the secondary is asked every {@code moveBackInterval} whether
 * it is back and has received every archived byte; then the stream returns to it (from its own slot, also
 * kept behind the archive), so that the customer's primary carries the stream only while it must.
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
  private final Duration fallbackAfter;
  private final Duration moveBackInterval;
  private final Map<String, Fallback> fallbacks = new HashMap<>();

  /** The primary standing in for {@code preferred} (the plan's node), since the secondary is unreachable. */
  private record Fallback(StreamTarget preferred, StreamTarget standIn, java.time.Instant lastCheck) {}

  StreamSupervisor(StreamLeases leases, Eligible eligible, StreamFactory streams, Clock clock,
      String owner, Duration lease, int maxStreams, Duration auditInterval, Duration fallbackAfter,
      Duration moveBackInterval) {
    this.fallbackAfter = fallbackAfter;
    this.moveBackInterval = moveBackInterval;
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
        fallbacks.remove(o.target().addonId());
      }
    }
    Map<String, StreamTarget> wanted = eligible.targets().stream()
        .collect(Collectors.toMap(StreamTarget::addonId, t -> t, (a, b) -> a));
    for (String addonId : Set.copyOf(owned.keySet())) {
      Owned o = owned.get(addonId);
      StreamTarget now = wanted.get(addonId);
      if (now == null) {
        fallbacks.remove(addonId);
        retire(o, true);
      } else if (!route(now, o).equals(o.target())) {
        retire(o, false); // another node or credentials: the stream restarts from the same slot name there
      }
    }
    for (StreamTarget preferred : wanted.values()) {
      if (owned.size() >= maxStreams || owned.containsKey(preferred.addonId())) {
        continue;
      }
      StreamTarget target = route(preferred, null);
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

  /**
   * Where the addon's stream should run now: the plan's node ({@code preferred}), or the primary standing in
   * while the secondary is unreachable. {@code running} is this instance's stream of the addon, if any.
   */
  private StreamTarget route(StreamTarget preferred, Owned running) {
    String addonId = preferred.addonId();
    Fallback fallback = fallbacks.get(addonId);
    if (fallback != null && !fallback.preferred().equals(preferred)) {
      fallbacks.remove(addonId); // the addon changed (nodes, credentials): its plan's node is tried afresh
      fallback = null;
    }
    java.time.Instant now = clock.instant();
    if (fallback == null) {
      if (running == null || !running.target().equals(preferred) || !preferred.canFallBackToPrimary()) {
        return preferred;
      }
      var down = running.stream().unreachable();
      if (down.isEmpty() || now.isBefore(down.get().since().plus(fallbackAfter))) {
        return preferred;
      }
      String why = "the secondary " + preferred.host() + ":" + preferred.port() + " is unreachable since "
          + down.get().since().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " (" + down.get().failure() + ")";
      fallback = new Fallback(preferred, preferred.onPrimary(why), now);
      fallbacks.put(addonId, fallback);
      log.warn("WAL stream of {} moves to the primary {}:{}: {}", addonId, preferred.primaryHost(),
          preferred.primaryPort(), why);
      return fallback.standIn();
    }
    if (running != null && !now.isBefore(fallback.lastCheck().plus(moveBackInterval))) {
      fallbacks.put(addonId, new Fallback(preferred, fallback.standIn(), now));
      if (caughtUp(preferred, running.stream().durable())) {
        fallbacks.remove(addonId);
        log.info("WAL stream of {} returns to the secondary {}:{}: it is back and has every archived byte", addonId,
            preferred.host(), preferred.port());
        return preferred;
      }
    }
    return fallback.standIn();
  }

  /**
   * Whether the plan's node answers and has received (or replayed) WAL up to what the archive holds, so that
   * a stream from it goes on from there at once. A standby sends only WAL it has; one still catching up would
   * pause the archive (and the latest archived instant) until it does.
   */
  private static boolean caughtUp(StreamTarget node, dev.backstop.pitr.Lsn durable) {
    java.util.Properties properties = node.properties(false);
    properties.setProperty("connectTimeout", "3");
    properties.setProperty("socketTimeout", "5");
    try (Connection sql = DriverManager.getConnection(node.url(), properties);
        var st = sql.createStatement();
        var rs = st.executeQuery("select pg_is_in_recovery(), greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text")) {
      rs.next();
      if (!rs.getBoolean(1) || durable == null) {
        return true; // promoted (its WAL is its own), or nothing archived yet to wait for
      }
      String position = rs.getString(2);
      return position != null && !dev.backstop.pitr.Lsn.parse(position).isBefore(durable);
    } catch (Exception e) {
      log.debug("secondary {}:{} of {} not back yet: {}", node.host(), node.port(), node.addonId(), e.toString());
      return false;
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
