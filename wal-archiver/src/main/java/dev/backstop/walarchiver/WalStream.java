package dev.backstop.walarchiver;

import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.TimelineHistory;
import dev.backstop.pitr.WalSegmentName;
import dev.backstop.pitr.WalSegmentStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import org.postgresql.copy.CopyDual;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One addon's WAL stream: physical replication from Backstop's slot on the node, cut into chunks every
 * {@code chunkInterval} (stored, then acknowledged), whole segments consolidated, timelines followed.
 *
 * <p><b>The rule</b>: the flush position reported to the server, which the slot's {@code restart_lsn}
 * follows, is only ever the end of WAL that the store has confirmed (a {@code putChunk} that returned,
 * with every earlier byte since the stream's start stored too). So this process dying at any moment, its
 * memory lost, leaves the server holding every byte not yet stored: the next stream resumes from the slot.
 * No WAL is ever written to local disk.
 *
 * <p>The replication protocol is driven here over PgJDBC's copy API ({@code CopyDual}) rather than its
 * {@code PGReplicationStream}: that class has no {@code TIMELINE} clause, raises the flushed position on
 * its own unless told not to, and its idle-slot status path is what pgjdbc#4328 breaks in 42.7.11–13.
 * Reading and status replies happen on this one thread, so no driver object is shared between threads.
 */
public final class WalStream implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(WalStream.class);
  private static final long PG_EPOCH_MILLIS = 946_684_800_000L;

  /** What the stream tells its owner (window, events, state). Called on the stream's thread. */
  public interface Listener {
    /**
     * The store now holds WAL up to {@code durable}; {@code lagBytes} is the server's position minus it
     * (-1 until known); counters are since this stream object started.
     */
    default void durable(int timeline, Lsn durable, long lagBytes, Counters counters) {}

    default void timelineSwitched(int from, int to, Lsn switchLsn) {}

    /** The streamed server answered: its cluster's system identifier and WAL segment size. */
    default void identified(long systemId, long segmentSize) {}

    /**
     * Replication starts at {@code start} (a segment start) on {@code timeline}: the archive is contiguous
     * from there unless a gap is reported.
     */
    default void streaming(int timeline, Lsn start) {}

    /** WAL between {@code from} and the stream's resume point is gone from the server and not archived. */
    default void gap(Lsn from, String reason) {}

    /**
     * The audit found WAL this stream stored missing from the store at {@code hole}; the stream goes on.
     * By default a gap like any other.
     */
    default void archiveHole(Lsn hole, String reason) {
      gap(hole, reason);
    }

    default void slotWarning(String warningOrNull) {}

    default void failed(Exception e) {}
  }

  /** Totals since the stream started: whole segments, WAL bytes and bytes at rest stored (chunks and segments). */
  public record Counters(long segments, long plainBytes, long storedBytes) {}

  private final StreamTarget target;
  private final WalSegmentStore store;
  private final Clock clock;
  private final Duration chunkInterval;
  private final Listener listener;
  private final Resume resume;
  private volatile java.util.function.Supplier<Lsn> auditFloor = () -> null;

  /**
   * What an earlier stream of the addon left (saved by its owner): the cluster it streamed and how far the
   * store held its WAL, so that a slot found past it, or another cluster, is recognised as a gap.
   */
  public record Resume(long systemId, Lsn durable, int timeline) {
    public static final Resume NONE = new Resume(0, null, 0);
  }

  private volatile boolean stopping;
  private volatile boolean killed;
  private volatile Connection replication;
  private volatile Lsn durable;
  private volatile int timeline;
  private volatile Lsn coverageStart;
  private volatile int coverageTimeline;
  private volatile Lsn reportedHole;
  private volatile long segmentSize;
  private volatile long knownSystemId;
  private volatile ClusterWal cluster;
  private volatile boolean legacyClaimed;
  private volatile java.time.Instant failingSince;
  private volatile String failure;
  private volatile boolean nodeUnreachable;
  private volatile boolean removedWalReported;
  private volatile Lsn knownDurable;
  private volatile long segmentsStored;
  private volatile long plainBytes;
  private volatile long storedBytes;

  public WalStream(StreamTarget target, WalSegmentStore store, Clock clock, Duration chunkInterval, Listener listener) {
    this(target, store, clock, chunkInterval, listener, Resume.NONE);
  }

  public WalStream(StreamTarget target, WalSegmentStore store, Clock clock, Duration chunkInterval, Listener listener,
      Resume resume) {
    this.target = target;
    this.store = store;
    this.clock = clock;
    this.chunkInterval = chunkInterval;
    this.listener = listener;
    this.resume = resume;
    this.knownSystemId = resume.systemId();
    this.knownDurable = resume.durable();
  }

  /**
   * Where the audit starts at the earliest: WAL below the oldest kept base is pruned on purpose (null: no
   * floor). Read at each audit, from any thread.
   */
  public void auditFloor(java.util.function.Supplier<Lsn> floor) {
    this.auditFloor = floor;
  }

  /** Streams until {@link #stop()} or {@link #kill()}, reconnecting with backoff (1 s doubling to 30 s) after failures. */
  @Override
  public void run() {
    long backoff = 1000;
    while (!stopping) {
      try {
        streamOnce();
        backoff = 1000;
      } catch (Exception e) {
        if (stopping) {
          break;
        }
        if (failingSince == null) {
          failingSince = clock.instant();
        }
        failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        nodeUnreachable = nodeUnreachable(e);
        log.warn("WAL stream of {} failed, retrying in {} ms: {}", target.addonId(), backoff, e.toString());
        listener.failed(e);
        // in steps, so that a stop (the stream moving to another node) does not wait out the backoff
        for (long slept = 0; slept < backoff && !stopping; slept += 100) {
          sleep(100);
        }
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /**
   * Since when the node has not been streamable (it refuses or drops connections, or is starting up or
   * shutting down), with the last failure; empty while the stream runs or fails for another reason (the store,
   * a gap). The supervisor moves the stream to the primary after a bound.
   */
  public java.util.Optional<Unreachable> unreachable() {
    java.time.Instant since = failingSince;
    return since != null && nodeUnreachable ? java.util.Optional.of(new Unreachable(since, failure)) : java.util.Optional.empty();
  }

  /** The streamed node failing since {@code since}; {@code failure} is the driver's message (never holds a password). */
  public record Unreachable(java.time.Instant since, String failure) {}

  /** Connection-level failures (SQLSTATE class 08) and a server shutting down or starting up (57P01–57P03). */
  static boolean nodeUnreachable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && sql.getSQLState() != null
          && (sql.getSQLState().startsWith("08") || sql.getSQLState().matches("57P0[123]"))) {
        return true;
      }
      if (t instanceof java.net.ConnectException || t instanceof java.net.SocketTimeoutException
          || t instanceof java.net.UnknownHostException || t instanceof java.io.EOFException) {
        return true;
      }
    }
    return false;
  }

  /** Ends the stream after storing and acknowledging every byte received (a clean handover). */
  public void stop() {
    stopping = true;
  }

  /**
   * Ends the stream as a crash would: the connection is cut at once and the bytes received but not yet
   * stored are dropped. For tests of the rule above.
   */
  public void kill() {
    killed = true;
    stopping = true;
    Connection c = replication;
    if (c != null) {
      try {
        c.unwrap(BaseConnection.class).getQueryExecutor().abort();
      } catch (SQLException ignored) {
        // already gone
      }
    }
  }

  /** The end of the WAL the store holds on {@link #timeline()}, as acknowledged to the server; null before the first chunk. */
  public Lsn durable() {
    return durable;
  }

  public int timeline() {
    return timeline;
  }

  public long segmentsStored() {
    return segmentsStored;
  }

  private void streamOnce() throws SQLException, IOException {
    try (Connection sql = DriverManager.getConnection(target.url(), target.properties(false));
        Connection repl = DriverManager.getConnection(target.url(), target.properties(true));
        Connection watch = DriverManager.getConnection(target.url(), target.properties(true))) {
      replication = repl;
      long segmentSize = segmentSize(sql);
      this.segmentSize = segmentSize;
      Identity id = identify(repl);
      // the node answers: whatever failed before was not that it is unreachable
      failingSince = null;
      nodeUnreachable = false;
      if (!legacyClaimed) {
        // an archive written before keys named the cluster is the cluster's the last owner streamed (else this one's)
        store.claimLegacy(target.addonId(), knownSystemId != 0 ? knownSystemId : id.systemId());
        legacyClaimed = true;
      }
      boolean sameCluster = true;
      if (knownSystemId != 0 && knownSystemId != id.systemId()) {
        // a rebuilt or restored cluster: its LSNs say nothing about the archive of the old one, whose WAL stays
        // under the old system identifier; reported before the new cluster is announced, so that the window is
        // broken since the old cluster's latest archived instant
        listener.gap(null, "the server's system identifier changed from " + Long.toUnsignedString(knownSystemId)
            + " to " + Long.toUnsignedString(id.systemId()) + " (cluster re-initialised or restored elsewhere)");
        sameCluster = false;
        knownDurable = null;
        durable = null;
        coverageStart = null;
        coverageTimeline = 0;
        reportedHole = null;
      }
      listener.identified(id.systemId(), segmentSize);
      knownSystemId = id.systemId();
      cluster = new ClusterWal(target.addonId(), id.systemId());
      boolean[] created = new boolean[1];
      SlotKeeper.SlotState slot = SlotKeeper.ensure(sql, target.slotName(), created);
      listener.slotWarning(slot.warning());
      // the WAL the last attempt found removed is this same gap: the fresh slot starts past the archive
      boolean gapReported = !sameCluster || removedWalReported;
      removedWalReported = false;
      if ("lost".equals(slot.walStatus()) || slot.restartLsn() == null) {
        // the server removed WAL the slot held (max_slot_wal_keep_size): it cannot be streamed from any more
        if (!gapReported) {
          listener.gap(knownDurable(), "the server invalidated slot " + target.slotName() + ": " + slot.warning());
          gapReported = true;
        }
        SlotKeeper.drop(sql, target.slotName());
        slot = SlotKeeper.ensure(sql, target.slotName(), created);
      }
      Lsn resume = slot.restartLsn();
      Lsn known = knownDurable();
      if (!gapReported && known != null && resume.isAfter(known) && !archived(known, resume, segmentSize)) {
        listener.gap(known, created[0] ? "slot " + target.slotName() + " was missing and created again at " + resume
            : "slot " + target.slotName() + " moved past the archive to " + resume);
      }
      // a segment start: the server keeps whole segments from the slot's, and a segment we hold whole in
      // memory can be stored whole
      Lsn start = resume.segmentStart(segmentSize);
      TimelineHistory history = storeHistories(repl, id.timeline());
      int tli = history == null ? id.timeline() : history.timelineOf(resume);
      Lsn acknowledged = resume;
      while (!stopping) {
        timeline = tli;
        listener.streaming(tli, start);
        Lsn end;
        try {
          end = streamTimeline(repl, watch, tli, start, acknowledged, segmentSize);
        } catch (SQLException e) {
          if (!"58P01".equals(e.getSQLState())) { // undefined_file: "requested WAL segment … has already been removed"
            throw e;
          }
          listener.gap(knownDurable(), "the server removed WAL before it was archived: " + e.getMessage());
          removedWalReported = true;
          // a fresh slot reserves from the server's current WAL on; the next attempt streams from there
          SlotKeeper.drop(sql, target.slotName());
          SlotKeeper.ensure(sql, target.slotName(), null);
          throw e;
        }
        if (end == null) {
          return;
        }
        Identity now = identify(watch);
        TimelineHistory newHistory = storeHistories(watch, now.timeline());
        int next = childOf(newHistory, tli);
        log.info("WAL stream of {}: timeline {} ended at {}, following timeline {}", target.addonId(), tli, end, next);
        listener.timelineSwitched(tli, next, end);
        tli = next;
        // the new timeline's first segment begins with a copy of the old one's bytes before the switch
        start = end.segmentStart(segmentSize);
        acknowledged = end;
      }
    } finally {
      replication = null;
    }
  }

  /**
   * Streams one timeline from {@code start} (a segment start); returns where it ended when the server
   * switched timelines, or null when stopped.
   */
  private Lsn streamTimeline(Connection repl, Connection watch, int tli, Lsn start, Lsn acknowledged, long segmentSize)
      throws SQLException, IOException {
    if (coverageTimeline != tli || coverageStart == null || start.isBefore(coverageStart)) {
      coverageTimeline = tli;
      coverageStart = start;
    }
    CopyDual copy = (CopyDual) repl.unwrap(BaseConnection.class).getQueryExecutor()
        .startCopy("START_REPLICATION SLOT " + target.slotName() + " PHYSICAL " + start + " TIMELINE " + tli, true);
    byte[] buffer = new byte[Math.toIntExact(segmentSize)];
    WalSegmentName segment = WalSegmentName.of(tli, start, segmentSize);
    Lsn received = start;
    Lsn cut = start;
    Lsn reported = acknowledged;
    long lastCut = clock.millis();
    long lastStatus = 0;
    long lastWatch = clock.millis();
    long serverPosition = 0;
    try {
      while (true) {
        if (killed) {
          return null;
        }
        byte[] message = copy.readFromCopy(false);
        if (message == null) {
          if (!copy.isActive()) {
            // the server ended this timeline (its CopyDone): everything of it up to here is in hand
            ship(segment, buffer, cut, received);
            return received;
          }
          if (stopping) {
            ship(segment, buffer, cut, received);
            sendStatus(copy, received, durableOr(reported), true);
            copy.endCopy();
            return null;
          }
          if (clock.millis() - lastWatch >= 1000) {
            lastWatch = clock.millis();
            Identity now = identify(watch);
            serverPosition = now.position().value();
            if (now.timeline() > tli) {
              // a promoted standby does not always end the copy by itself: end it once we hold the old timeline whole
              TimelineHistory history = TimelineHistory.parse(now.timeline(), timelineHistory(watch, now.timeline()));
              Lsn switchPoint = history.switchPoint(tli);
              if (switchPoint != null && !received.isBefore(switchPoint)) {
                ship(segment, buffer, cut, received);
                copy.endCopy();
                return switchPoint;
              }
            }
          }
          sleep(2);
        } else {
          ByteBuffer m = ByteBuffer.wrap(message);
          byte kind = m.get();
          if (kind == 'w') {
            Lsn dataStart = new Lsn(m.getLong());
            m.getLong(); // server's end of WAL
            m.getLong(); // send time
            if (!dataStart.equals(received)) {
              throw new IOException("WAL of " + target.addonId() + " arrived at " + dataStart + ", expected " + received);
            }
            while (m.hasRemaining()) {
              int room = (int) segment.endLsn().minus(received);
              int n = Math.min(room, m.remaining());
              m.get(buffer, (int) received.minus(segment.startLsn()), n);
              received = received.plus(n);
              if (received.equals(segment.endLsn())) {
                // the whole segment is in memory (streams start at segment starts): store it whole instead of a last chunk
                consolidate(segment, buffer);
                cut = received;
                segment = segment.next();
                lastCut = clock.millis();
              }
            }
          } else if (kind == 'k') {
            serverPosition = m.getLong();
            m.getLong();
            if (m.get() != 0) {
              lastStatus = 0; // the server asks for a reply now
            }
          } else {
            throw new IOException("unexpected replication message '" + (char) kind + "'");
          }
        }
        if (received.isAfter(cut) && clock.millis() - lastCut >= chunkInterval.toMillis()) {
          ship(segment, buffer, cut, received);
          cut = received;
          lastCut = clock.millis();
        }
        Lsn flush = durableOr(reported);
        if (flush.isAfter(reported) || clock.millis() - lastStatus >= 250) {
          sendStatus(copy, received, flush, false);
          if (flush.isAfter(reported)) {
            listener.durable(tli, flush, serverPosition == 0 ? -1 : Math.max(0, serverPosition - flush.value()),
                new Counters(segmentsStored, plainBytes, storedBytes));
          }
          reported = flush;
          lastStatus = clock.millis();
        }
      }
    } catch (SQLException e) {
      // the server is gone (crashed, killed, network cut), noticed by a read or by a status reply: what it
      // sent before dying may be the only copy of its last commits, so store it before giving up (the
      // store is not the connection that failed)
      Lsn before = durable;
      ship(segment, buffer, cut, received);
      if (durable != null && !durable.equals(before)) {
        listener.durable(tli, durable, serverPosition == 0 ? -1 : Math.max(0, serverPosition - durable.value()),
            new Counters(segmentsStored, plainBytes, storedBytes));
      }
      throw e;
    }
  }

  /**
   * Checks that the store still holds every byte this stream stored on its current timeline, from where it
   * started to what it acknowledged; a hole (an object deleted or lost) is reported once through {@link
   * Listener#gap}. Safe to call from another thread: it only reads the store and this stream's positions.
   */
  public java.util.Optional<Lsn> audit() throws IOException {
    Lsn to = durable;
    int tli = coverageTimeline;
    Lsn from = auditStart();
    if (from == null || to == null || !to.isAfter(from) || tli != timeline) {
      return java.util.Optional.empty();
    }
    ClusterWal streamed = cluster;
    if (streamed == null) {
      return java.util.Optional.empty();
    }
    java.util.Optional<Lsn> hole = dev.backstop.pitr.WalContinuity.firstHole(store.list(streamed, tli, segmentSize), from, to);
    if (hole.isPresent()) {
      // a segment stored whole has its chunks deleted after it, and pruning may just have raised the floor:
      // a listing racing either can be wrong once, never twice
      from = auditStart();
      hole = dev.backstop.pitr.WalContinuity.firstHole(store.list(streamed, tli, segmentSize), from, to);
    }
    if (hole.isPresent() && !hole.get().equals(reportedHole)) {
      reportedHole = hole.get();
      listener.archiveHole(hole.get(), "WAL missing from the archive at " + hole.get() + " on timeline " + tli);
    }
    return hole;
  }

  private Lsn auditStart() {
    Lsn from = coverageStart;
    Lsn floor = auditFloor.get();
    if (from != null && floor != null) {
      from = Lsn.max(from, floor.segmentStart(segmentSize));
    }
    return from;
  }

  /** How far the store holds this addon's WAL, as this stream or an earlier one (by its saved facts) knew it. */
  private Lsn knownDurable() {
    Lsn d = durable;
    return d != null ? d : knownDurable;
  }

  /** Whether the store holds every byte of {@code [from, to)} on the timeline {@code from} was durable on. */
  private boolean archived(Lsn from, Lsn to, long segmentSize) throws IOException {
    int tli = durable != null ? timeline : resume.timeline();
    if (tli < 1) {
      return false;
    }
    return dev.backstop.pitr.WalContinuity.firstHole(store.list(cluster, tli, segmentSize), from, to).isEmpty();
  }

  private Lsn durableOr(Lsn fallback) {
    Lsn d = durable;
    return d == null || d.isBefore(fallback) ? fallback : d;
  }

  /** Stores {@code [from, to)} of the segment as a chunk; only then is it durable. */
  private void ship(WalSegmentName segment, byte[] buffer, Lsn from, Lsn to) throws IOException {
    if (killed || !to.isAfter(from)) {
      return;
    }
    int offset = (int) from.minus(segment.startLsn());
    var stored = store.putChunk(cluster, segment, from, ByteBuffer.wrap(buffer, offset, (int) to.minus(from)));
    durable = to;
    plainBytes += stored.plainBytes();
    storedBytes += stored.storedBytes();
  }

  private void consolidate(WalSegmentName segment, byte[] buffer) throws IOException {
    if (killed) {
      return;
    }
    var stored = store.putSegment(cluster, segment, buffer);
    durable = segment.endLsn();
    segmentsStored++;
    plainBytes += stored.plainBytes();
    storedBytes += stored.storedBytes();
    store.deleteChunks(cluster, segment);
  }

  private static void sendStatus(CopyDual copy, Lsn received, Lsn flushed, boolean replyRequested) throws SQLException {
    ByteBuffer r = ByteBuffer.allocate(34);
    r.put((byte) 'r').putLong(received.value()).putLong(flushed.value()).putLong(flushed.value())
        .putLong((System.currentTimeMillis() - PG_EPOCH_MILLIS) * 1000).put((byte) (replyRequested ? 1 : 0));
    copy.writeToCopy(r.array(), 0, r.capacity());
    copy.flushCopy();
  }

  record Identity(long systemId, int timeline, Lsn position) {}

  private static Identity identify(Connection repl) throws SQLException {
    try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
      rs.next();
      // printed unsigned: identifiers made after 2038 do not fit a signed long
      return new Identity(Long.parseUnsignedLong(rs.getString(1)), rs.getInt(2), Lsn.parse(rs.getString(3)));
    }
  }

  private static byte[] timelineHistory(Connection repl, int tli) throws SQLException {
    try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + tli)) {
      rs.next();
      return rs.getBytes(2);
    }
  }

  /** Stores the history of every timeline from 2 to {@code tli} not stored yet, before any WAL of them. */
  private TimelineHistory storeHistories(Connection repl, int tli) throws SQLException, IOException {
    TimelineHistory newest = null;
    for (int t = 2; t <= tli; t++) {
      byte[] content = store.history(cluster, t).orElse(null);
      if (content == null) {
        content = timelineHistory(repl, t);
        store.putHistory(cluster, t, content);
      }
      if (t == tli) {
        newest = TimelineHistory.parse(t, content);
      }
    }
    return newest;
  }

  /** The timeline that follows {@code tli} on the path to the newest one. */
  private static int childOf(TimelineHistory newest, int tli) {
    var entries = newest.entries();
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).parent() == tli) {
        return i + 1 < entries.size() ? entries.get(i + 1).parent() : newest.timeline();
      }
    }
    throw new IllegalStateException("timeline " + tli + " is not an ancestor of " + newest.timeline());
  }

  private static long segmentSize(Connection sql) throws SQLException {
    try (Statement st = sql.createStatement();
        ResultSet rs = st.executeQuery("select setting::bigint from pg_settings where name = 'wal_segment_size'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
