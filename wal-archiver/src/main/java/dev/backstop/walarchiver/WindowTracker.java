package dev.backstop.walarchiver;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.WalPruning;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.WalArchived;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.events.WalTimelineSwitched;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner's side of one addon's window, beside its {@link WalStream}: it hears the stream (durable
 * position, gaps, slot warnings), probes the primary every {@code probe-interval} for the latest archived
 * instant, tells a stream that is down past its bound, requests a base backup at once when the archive
 * (re)starts, and every {@code progress-interval} (or at once after a gap) saves its facts, publishes
 * {@code WalArchived} and re-evaluates the window through {@link WindowPublisher}.
 *
 * <p>Latest-time probe (docs/pitr-design.md §1.5): {@code SELECT statement_timestamp(),
 * pg_current_wal_flush_lsn()} on the primary; the time is taken before the position is read, so every
 * commit acknowledged at or before it lies below that position. Latest = the newest probe time whose
 * position the archive holds.
 */
final class WindowTracker implements WalStream.Listener, StreamSupervisor.Monitor {

  private static final Logger log = LoggerFactory.getLogger(WindowTracker.class);
  private static final Duration SAMPLES_KEPT = Duration.ofMinutes(2);
  static final String STARTED = "started";
  static final String GAP = "gap";

  private record Sample(Instant at, Lsn lsn) {}

  private final StreamTarget target;
  private final long epoch;
  private final String owner;
  private final StreamLeases leases;
  private final PitrBases bases;
  private final WindowPublisher windows;
  private final EventPublisher publisher;
  private final Clock clock;
  private final WalArchiverProperties settings;

  // the facts, guarded by this
  private Long systemId;
  private Long segmentSize;
  private Lsn coverageStart;
  private String coverageCause;
  private String coverageReason;
  private Integer timeline;
  private Lsn durable;
  private Instant latest;
  private Instant gapSince;
  private String gapReason;
  private Instant streamDownSince;
  private String slotWarning;
  private Lsn baseRequestedFor;
  private boolean dirty = true;
  private long lagBytes = -1;
  private WalStream.Counters counters = new WalStream.Counters(0, 0, 0);
  private final Deque<Sample> samples = new ArrayDeque<>();

  private volatile boolean stopped;
  private Connection probe;
  private boolean probeFailing;
  private long lastProgress;
  private WalMetrics metrics;

  WindowTracker(StreamTarget target, long epoch, String owner, StreamLeases leases, PitrBases bases,
      WindowPublisher windows, EventPublisher publisher, Clock clock, WalArchiverProperties settings, StreamFacts saved) {
    this.target = target;
    this.epoch = epoch;
    this.owner = owner;
    this.leases = leases;
    this.bases = bases;
    this.windows = windows;
    this.publisher = publisher;
    this.clock = clock;
    this.settings = settings;
    systemId = saved.systemId();
    segmentSize = saved.segmentSize();
    coverageStart = lsn(saved.coverageStart());
    coverageCause = saved.coverageCause();
    coverageReason = saved.coverageReason();
    timeline = saved.timeline();
    durable = lsn(saved.durable());
    latest = saved.latest();
    gapSince = saved.gapSince();
    gapReason = saved.gapReason();
    streamDownSince = saved.streamDownSince();
    slotWarning = saved.slotWarning();
    baseRequestedFor = lsn(saved.baseRequestedFor());
  }

  /** Where the stream resumes its checks from: the cluster and archive the last owner saved. */
  synchronized WalStream.Resume resume() {
    return new WalStream.Resume(systemId == null ? 0 : systemId, durable, timeline == null ? 0 : timeline);
  }

  /** The oldest kept base's start on the streamed cluster: WAL below it is pruned on purpose. */
  Lsn auditFloor() {
    Long system;
    synchronized (this) {
      system = systemId;
    }
    return WalPruning.floor(bases.kept(target.addonId()).stream()
        .filter(b -> Objects.equals(b.systemId(), system)).map(PitrBases.StoredBase::ref).toList()).orElse(null);
  }

  // ---- what the stream tells (its thread) ----

  @Override
  public synchronized void identified(long id, long size) {
    if (systemId != null && systemId != id) {
      // another cluster (the stream reported the gap just before): nothing archived of the old one continues
      // into it, and its first base is due however its WAL positions compare with the old cluster's
      durable = null;
      timeline = null;
      coverageStart = null;
      latest = null;
      streamDownSince = null;
      baseRequestedFor = null;
      lagBytes = -1;
      samples.clear();
      dirty = true;
    }
    systemId = id;
    segmentSize = size;
  }

  @Override
  public synchronized void streaming(int tli, Lsn start) {
    if (coverageStart == null) {
      // first stream of the addon, or the restart after a gap: the archive is contiguous from here on
      coverageStart = start;
      if (coverageCause == null) {
        coverageCause = STARTED;
        coverageReason = "WAL archiving started (new addon, or a plan with point-in-time recovery)";
      }
      dirty = true;
    }
    if (timeline == null || durable == null) {
      timeline = tli;
    }
  }

  /** Records this stream's lag and gaps in the archiver's meters too. */
  WindowTracker withMetrics(WalMetrics meters) {
    this.metrics = meters;
    return this;
  }

  @Override
  public synchronized void durable(int tli, Lsn position, long lag, WalStream.Counters totals) {
    if (metrics != null && lag >= 0) {
      metrics.lag().record(lag);
    }
    durable = position;
    timeline = tli;
    lagBytes = lag;
    counters = totals;
    // a probe taken just before the server died is answered by this, not by a next probe that never comes
    advanceLatest();
    if (baseDue()) {
      dirty = true; // the monitor requests it at its next probe, not at the next progress
    }
  }

  /** WAL the stream cannot get any more (slot lost, WAL removed, another cluster): it restarts past the hole. */
  @Override
  public void gap(Lsn from, String reason) {
    recordGap(from, reason, false);
  }

  /** Objects missing from the store: the stream goes on, so the archive is contiguous again from what it holds now. */
  @Override
  public void archiveHole(Lsn hole, String reason) {
    recordGap(hole, reason, true);
  }

  private void recordGap(Lsn from, String reason, boolean streamGoesOn) {
    if (metrics != null) {
      metrics.gaps().increment();
    }
    Instant since;
    synchronized (this) {
      since = millis(latest != null ? latest : clock.instant());
      gapSince = since;
      gapReason = reason;
      // null: set by the stream's restart (streaming), past the hole
      coverageStart = streamGoesOn ? durable : null;
      coverageCause = GAP;
      coverageReason = "the WAL archive has a gap: " + reason;
      streamDownSince = null;
      dirty = true;
    }
    log.warn("WAL archive of {} has a gap since {}: {}", target.addonId(), since, reason);
    publisher.publish(Topics.PITR_EVENTS, target.addonId(), WalGapDetected.newBuilder().setAddonId(target.addonId())
        .setSince(since).setReason(reason).setTimeline(timeline()).setFromLsn(from == null ? null : from.value())
        .setAt(clock.instant()).build());
  }

  @Override
  public synchronized void slotWarning(String warning) {
    if (!Objects.equals(warning, slotWarning)) {
      slotWarning = warning;
      dirty = true;
    }
  }

  @Override
  public void timelineSwitched(int from, int to, Lsn switchLsn) {
    publisher.publish(Topics.PITR_EVENTS, target.addonId(), WalTimelineSwitched.newBuilder()
        .setAddonId(target.addonId()).setFromTimeline(from).setToTimeline(to).setSwitchLsn(switchLsn.value())
        .setAt(clock.instant()).build());
  }

  // ---- the monitor (its own thread) ----

  @Override
  public void run() {
    while (!stopped) {
      try {
        step();
      } catch (RuntimeException e) {
        log.warn("window of {}: {}", target.addonId(), e.toString());
      }
      sleep(settings.probeInterval().toMillis());
    }
    closeProbe();
    // the next owner resumes its checks from here (fenced: refused if the lease was taken)
    leases.saveFacts(target.addonId(), owner, epoch, facts());
  }

  @Override
  public void stop() {
    stopped = true;
  }

  /** One probe, and the periodic or pending work. */
  void step() {
    probeOnce();
    boolean due = clock.millis() - lastProgress >= settings.progressInterval().toMillis();
    boolean pending;
    synchronized (this) {
      // cleared now: news arriving while this step works makes the next one save again
      pending = dirty;
      dirty = false;
    }
    if (due) {
      lastProgress = clock.millis();
      inspectSlot();
      advanceOtherSlots();
      publishProgress();
    }
    if (due || pending) {
      requestBaseIfDue();
      StreamFacts facts;
      synchronized (this) {
        facts = facts();
      }
      if (!leases.saveFacts(target.addonId(), owner, epoch, facts)) {
        stopped = true; // another instance owns the addon now: its tracker speaks for the window
        return;
      }
      windows.refresh(target.addonId());
    }
  }

  synchronized StreamFacts facts() {
    return new StreamFacts(systemId, segmentSize, value(coverageStart), coverageCause, coverageReason, timeline,
        value(durable), latest, gapSince, gapReason, streamDownSince, slotWarning, value(baseRequestedFor),
        target.fallback());
  }

  private void probeOnce() {
    Instant at;
    Lsn position;
    try {
      if (probe == null || probe.isClosed()) {
        probe = DriverManager.getConnection(target.primaryUrl(), target.properties(false));
      }
      try (Statement st = probe.createStatement();
          ResultSet rs = st.executeQuery("select statement_timestamp(), pg_current_wal_flush_lsn()::text")) {
        rs.next();
        at = millis(rs.getTimestamp(1).toInstant());
        position = Lsn.parse(rs.getString(2));
      }
      if (probeFailing) {
        log.info("latest-time probe of {} answers again", target.addonId());
        probeFailing = false;
      }
    } catch (SQLException e) {
      closeProbe();
      if (!probeFailing) {
        log.warn("latest-time probe of {} on {}:{} failed (latest archived instant paused): {}", target.addonId(),
            target.primaryHost(), target.primaryPort(), e.getMessage());
        probeFailing = true;
      }
      return;
    }
    sample(at, position);
  }

  /** Takes a probe's answer: the latest archived instant, and whether the stream is down past its bound. */
  synchronized void sample(Instant at, Lsn position) {
    samples.addLast(new Sample(at, position));
    while (samples.size() > 1 && samples.peekFirst().at().isBefore(at.minus(SAMPLES_KEPT))) {
      samples.removeFirst();
    }
    if (durable == null) {
      return;
    }
    advanceLatest();
    lagBytes = Math.max(0, position.minus(durable));
    boolean behind = position.isAfter(durable);
    boolean down = behind && latest != null && Duration.between(latest, at).compareTo(settings.streamDownBound()) > 0;
    if (down && streamDownSince == null) {
      streamDownSince = latest;
      dirty = true;
      log.warn("WAL stream of {} is down since {}: the server's WAL is at {}, the archive's at {}", target.addonId(),
          latest, position, durable);
    } else if (!down && streamDownSince != null) {
      log.info("WAL stream of {} caught up (down since {})", target.addonId(), streamDownSince);
      streamDownSince = null;
      dirty = true;
    }
  }

  /** Latest = the newest probe time whose position the archive holds; re-read at each probe and each durable advance. */
  private synchronized void advanceLatest() {
    if (durable == null) {
      return;
    }
    for (Sample s : samples) {
      if (!s.lsn().isAfter(durable) && (latest == null || s.at().isAfter(latest))) {
        latest = s.at();
      }
    }
  }

  private void inspectSlot() {
    try (Connection sql = DriverManager.getConnection(target.url(), target.properties(false))) {
      SlotKeeper.inspect(sql, target.slotName()).ifPresent(slot -> slotWarning(slot.warning()));
    } catch (SQLException e) {
      log.debug("slot of {} not inspected: {}", target.addonId(), e.getMessage());
    }
  }

  /**
   * Keeps the slot of the same name on every other node of the addon just behind the archive, so that a
   * stream moved there (secondary lost, failover) resumes with no gap. Never past {@code durable}: the rule
   * holds for these slots too.
   */
  private void advanceOtherSlots() {
    Lsn position;
    synchronized (this) {
      position = durable;
    }
    if (position == null) {
      return;
    }
    for (StreamTarget.Node node : target.others()) {
      try (Connection sql = DriverManager.getConnection(node.url(), target.properties(false))) {
        SlotKeeper.advance(sql, target.slotName(), position);
      } catch (SQLException e) {
        log.debug("slot of {} on {} not advanced: {}", target.addonId(), node, e.getMessage());
      }
    }
  }

  private void publishProgress() {
    WalArchived event;
    synchronized (this) {
      if (durable == null || timeline == null) {
        return;
      }
      event = WalArchived.newBuilder().setAddonId(target.addonId()).setTimeline(timeline).setDurableLsn(durable.value())
          .setLatest(latest).setSegmentsArchived(counters.segments()).setBytesPlain(counters.plainBytes())
          .setBytesStored(counters.storedBytes()).setLagBytes(lagBytes < 0 ? null : lagBytes)
          .setNode(target.host() + ":" + target.port() + " (" + target.reason() + ")").setAt(clock.instant()).build();
    }
    publisher.publish(Topics.PITR_PROGRESS, target.addonId(), event);
  }

  /**
   * A base is worth something only once the archive covers its start: requested as soon as the first chunk
   * after a (re)start of the archive is stored, once per coverage start (the id is derived from it).
   */
  private void requestBaseIfDue() {
    Lsn start;
    String cause;
    String reason;
    long system;
    synchronized (this) {
      if (!baseDue()) {
        return;
      }
      start = coverageStart;
      cause = coverageCause == null ? STARTED : coverageCause;
      reason = coverageReason == null ? "WAL archiving started" : coverageReason;
      system = systemId == null ? 0 : systemId;
    }
    String backupId = PitrBaseRequestId.of(target.addonId(), cause, start, system);
    publisher.publish(Topics.BACKUP_REQUESTS, target.addonId(), BackupRequested.newBuilder().setBackupId(backupId)
        .setAddonId(target.addonId()).setAppName(target.appName()).setKind(BackupKind.PITR_BASE)
        .setRequestedAt(clock.instant()).setScheduledFor(null).setPitr(null)
        .setReason(reason + "; a base backup opens the point-in-time window from " + start).build());
    log.info("base backup {} requested for {}: {}", backupId, target.addonId(), reason);
    synchronized (this) {
      if (start.equals(coverageStart)) {
        baseRequestedFor = start;
      }
    }
  }

  /**
   * The first chunk past a (re)start proves the stream works; a hole in the store found while streaming
   * restarts the coverage at what is already durable, so the base is due at once. Once per coverage start.
   */
  private boolean baseDue() {
    boolean covered = durable != null && coverageStart != null
        && (durable.isAfter(coverageStart) || (GAP.equals(coverageCause) && durable.equals(coverageStart)));
    return covered && !coverageStart.equals(baseRequestedFor);
  }

  private synchronized Integer timeline() {
    return timeline;
  }

  private void closeProbe() {
    if (probe != null) {
      try {
        probe.close();
      } catch (SQLException ignored) {
        // already broken
      }
      probe = null;
    }
  }

  private static Instant millis(Instant at) {
    return at.truncatedTo(ChronoUnit.MILLIS);
  }

  private static Lsn lsn(Long value) {
    return value == null ? null : new Lsn(value);
  }

  private static Long value(Lsn lsn) {
    return lsn == null ? null : lsn.value();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
