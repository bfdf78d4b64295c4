package dev.backstop.worker.pitr;

import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.worker.job.KindWork;
import com.github.luben.zstd.ZstdInputStream;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.HeadLastFile;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.TimelineHistory;
import dev.backstop.pitr.WalSegmentStore;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.PitrRequest;
import dev.backstop.schemas.events.RestoreTarget;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.kit.addon.ConnectionValues;
import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.postgres.PostgresTargetRestore;
import dev.backstop.schemas.events.Plan;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.PitrRestoreProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.CheckedDump;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.job.JobLifecycle;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A point-in-time restore (kind {@code PITR_RESTORE}, docs/pitr-design.md §7): the newest usable base that
 * ended at or before the target, unpacked into a scratch data directory; a scratch server of the base's
 * major version recovering it with {@code recovery_target_time} (inclusive) through WAL from Backstop's
 * archive, then promoted; its database dumped with the same {@code pg_dump} options and archive pipeline as
 * every backup, the archive named after the target time. The outcome is one {@code BackupCompleted} (with
 * {@code pitrTargetTime}) or {@code BackupFailed}, like a dump's.
 *
 * <p>A request with {@code restoreInto} (operators only) also {@code pg_restore}s the stored archive into
 * that existing, empty database ({@link PostgresTargetRestore}), checked before the replay starts and again
 * just before; if that fails, the archive is deleted and the restore fails with the scrubbed reason.
 *
 * <p>Run by the dump jobs' runner, leased like a dump: a worker killed mid-restore loses the job when its
 * lease runs out and the next worker redoes it from the start (removing the scratch folder and server the
 * killed one left, when on the same machine). The scratch server is stopped and its folder deleted however
 * the job ends. At most {@code concurrent-restores} run on one worker; more wait in the queue.
 */
public class PitrRestoreJob implements KindWork {

  private static final Logger log = LoggerFactory.getLogger(PitrRestoreJob.class);
  private static final DateTimeFormatter PG_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSS'+00'")
      .withZone(ZoneOffset.UTC);
  private static final Duration POLL = Duration.ofMillis(200);

  private final AddonCatalog addons;
  private final JobLedger ledger;
  private final ArchiveStore store;
  private final ArchiveCipher cipher;
  private final EventPublisher publisher;
  private final PitrWindows windows;
  private final WorkerProperties worker;
  private final PitrRestoreProperties properties;
  private final boolean encrypt;
  private final Clock clock;
  private final JobLifecycle lifecycle;
  private final Semaphore running;
  /** Opens a restore target's password; null on a worker not set up to restore into named databases. */
  private final SecretSealer sealer;
  private final PostgresTargetRestore targets;
  private final OutputBuffer dumpOutput;
  /** Jobs being settled: their heartbeat stops renewing (a settled job's lease is no longer there to renew). */
  private final java.util.Set<String> settling = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public PitrRestoreJob(AddonCatalog addons, JobLedger ledger, ArchiveStore store, ArchiveCipher cipher,
      EventPublisher publisher, PitrWindows windows, WorkerProperties worker, PitrRestoreProperties properties,
      BackstopProperties backstop, Clock clock) {
    this(addons, ledger, store, cipher, publisher, windows, worker, properties, backstop, clock, null, null,
        OutputBuffer.TOOLS_OWN);
  }

  /**
   * @param sealer opens the password of a database an operator named to restore into
   * @param targets restores the result into it
   * @param dumpOutput how the recovered database's {@code pg_dump} writes to the worker: as a backup's does
   */
  public PitrRestoreJob(AddonCatalog addons, JobLedger ledger, ArchiveStore store, ArchiveCipher cipher,
      EventPublisher publisher, PitrWindows windows, WorkerProperties worker, PitrRestoreProperties properties,
      BackstopProperties backstop, Clock clock, SecretSealer sealer, PostgresTargetRestore targets,
      OutputBuffer dumpOutput) {
    this.sealer = sealer;
    this.dumpOutput = dumpOutput;
    this.targets = targets;
    this.addons = addons;
    this.ledger = ledger;
    this.store = store;
    this.cipher = cipher;
    this.publisher = publisher;
    this.windows = windows;
    this.worker = worker;
    this.properties = properties;
    this.encrypt = backstop.archive().encrypt();
    this.clock = clock;
    this.lifecycle = new JobLifecycle("point-in-time restore", ledger, publisher, worker.instanceName(),
        worker.leaseDuration(), worker.heartbeatInterval(), clock);
    this.running = new Semaphore(properties.concurrentRestores());
  }

  /** Stops the heartbeats (the worker is shutting down). */
  public void close() {
    lifecycle.close();
  }

  @Override
  public BackupKind kind() {
    return BackupKind.PITR_RESTORE;
  }

  /** Runs one claimed {@code PITR_RESTORE} job, or publishes the outcome a worker recorded and did not publish. */
  @Override
  public void run(JobLedger.Job claimed) throws IOException {
    BackupRequested request = (BackupRequested) EventCodec.get().decode(claimed.request());
    if (lifecycle.publishRecordedOutcome(claimed, request.getAddonId())) {
      return;
    }
    execute(claimed, request);
  }

  /** Runs one claimed {@code PITR_RESTORE} job (its recorded outcome, if any, is already published). */
  public void execute(JobLedger.Job claimed, BackupRequested request) throws IOException {
    if (!running.tryAcquire()) {
      ledger.reschedule(request.getBackupId(), worker.instanceName(), clock.instant().plus(worker.hostSlotRetry()),
          claimed.failures(), "waiting for one of this worker's " + properties.concurrentRestores() + " restore slots");
      return;
    }
    try {
      plan(claimed, request);
    } finally {
      settling.remove(request.getBackupId());
      running.release();
    }
  }

  private void plan(JobLedger.Job claimed, BackupRequested request) throws IOException {
    Optional<Addon> found = addons.find(request.getAddonId());
    PitrRequest pitr = request.getPitr();
    if (pitr == null) {
      fail(request, "the request names no target time");
      return;
    }
    if (found.isEmpty()) {
      waitOrFail(claimed, request, "addon " + request.getAddonId() + " is not registered with Backstop");
      return;
    }
    Addon addon = found.get();
    if (addon.engine() != Engine.POSTGRESQL || addon.plan() == Plan.SANDBOX) {
      fail(request, "point-in-time recovery is only for PostgreSQL addons on Starter and Business plans");
      return;
    }
    Instant target = pitr.getTargetTime();
    Optional<PitrWindows.Window> window = windows.find(addon.id());
    String refusal = window.isEmpty() ? "point-in-time recovery has no window for this addon yet" : window.get().refusal(target);
    if (refusal != null) {
      // the window this worker reads may lag the one the gateway checked the request against
      waitOrFail(claimed, request, refusal);
      return;
    }
    DumpTarget into = null;
    if (pitr.getRestoreInto() != null) {
      // once the window lets the restore go ahead, before anything runs (the scratch server included):
      // a target that cannot be used fails the restore at once, not after hours of replay
      Into checked = checkTarget(request, pitr.getRestoreInto());
      if (checked.refusal() != null) {
        fail(request, checked.refusal());
        return;
      }
      into = checked.target();
    }
    PitrWindows.Base base = window.get().baseFor(target).orElseThrow();
    if (claimed.takenOver()) {
      log.warn("point-in-time restore {}: its previous worker stopped heartbeating; taking the job over", request.getBackupId());
    }
    Path scratchRoot = worker.workDirectory().resolve(scratchPrefix(request.getBackupId()) + claimed.attempt());
    // a killed worker on this machine left its server and folder: removed before this attempt starts its own
    ScratchServer.reclaim(worker.workDirectory(), scratchPrefix(request.getBackupId()), properties.binaries(),
        properties.serverUser());
    Files.createDirectories(worker.workDirectory());
    Progress progress = new Progress(request);
    try (JobLifecycle.Heartbeat heartbeat = lifecycle.heartbeat(progress::beat);
         ScratchServer server = new ScratchServer(scratchRoot, properties.serverUser())) {
      progress.server = server;
      restore(claimed, request, addon, window.get(), base, target, into, server, progress);
    }
  }

  private void restore(JobLedger.Job claimed, BackupRequested request, Addon addon, PitrWindows.Window window,
      PitrWindows.Base base, Instant target, DumpTarget into, ScratchServer server, Progress progress) throws IOException {
    Instant startedAt = claimed.startedAt() != null ? claimed.startedAt() : clock.instant();
    ledger.started(request.getBackupId(), worker.instanceName(), startedAt);
    String why = "restored to " + target + " from base backup " + base.backupId()
        + (into == null ? "" : ", then into " + describe(into));
    if (claimed.attempt() == 1 || claimed.takenOver() || claimed.startedAt() == null) {
      publisher.publish(Topics.BACKUP_EVENTS, addon.id(), new BackupStarted(request.getBackupId(), addon.id(),
          addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, "scratch server", why,
          worker.instanceName()));
    }
    log.info("point-in-time restore {} of addon {} to {}: base {} (ended {}, timeline {})", request.getBackupId(),
        addon.id(), target, base.backupId(), base.endTime(), base.timeline());

    // 1. the base, unpacked as the server's user
    String baseKey = PitrKeys.base(addon.id(), base.backupId());
    if (!store.exists(baseKey)) {
      fail(request, "the base backup " + base.backupId() + " is no longer stored");
      return;
    }
    progress.phase("fetching-base", 0, store.size(baseKey));
    try (InputStream tar = new ZstdInputStream(new Counting(cipher.open(addon.id(), baseKey, 0), progress.done))) {
      server.extract(tar);
    }
    if (progress.lost) {
      return;
    }
    int major = server.major();
    try {
      server.use(ScratchServer.binaries(properties.binaries(), major));
    } catch (ScratchServer.MissingBinariesException e) {
      fail(request, e.getMessage());
      return;
    }
    ScratchServer.Control control = server.control();
    if (window.systemId() != null && window.systemId() != control.systemId()) {
      fail(request, "the base backup " + base.backupId() + " is of another cluster (system id " + control.systemId()
          + ", the window's is " + window.systemId() + ")");
      return;
    }

    // 2. replay, answered from the archive, fetched ahead
    WalSegmentStore wal = new ArchiveWalSegmentStore(store, cipher, server.root().resolve("wal/put"));
    // only the WAL of the base's own cluster: a re-initialised one under the same addon has the same file names
    ClusterWal cluster = new ClusterWal(addon.id(), control.systemId());
    TimelineHistory path = timelinePath(wal, cluster, base.timeline());
    long end = archivedEnd(wal, cluster, path.timeline(), control.segmentSize(), base.stopLsn());
    progress.phase("replaying-wal", 0, Math.max(1, end - base.startLsn()));
    long walBytes;
    try (WalPrefetcher prefetcher = new WalPrefetcher(wal, cluster, control.segmentSize(), path,
        server.walDirectory(), server.owner(), properties.lookahead(), properties.fetchThreads()).start()) {
      server.prepare(control, List.of(
          "recovery_target_time = '" + PG_TIME.format(target) + "'",
          "recovery_target_inclusive = on",
          "recovery_target_timeline = 'latest'",
          "recovery_target_action = 'promote'"));
      server.start();
      String failure = recover(request, addon, base, server, control, progress);
      if (progress.lost) {
        return;
      }
      if (failure != null) {
        fail(request, failure);
        return;
      }
      walBytes = prefetcher.bytesServed();
      log.info("point-in-time restore {}: recovered to {} ({} WAL segments, {} MB from the archive)",
          request.getBackupId(), target, prefetcher.segmentsServed(), walBytes >> 20);
    }

    // 3. the dump, as every backup's
    var format = worker.archiveFormat();
    String archiveName = StreamingArchive.archiveName(target, addon.database(), format);
    String key = addon.id() + "/" + request.getBackupId() + "/" + archiveName + (encrypt ? ArchiveCipher.SUFFIX : "");
    // the scratch server's own major: the same binaries that recovered it dump it
    PostgresDumpEngine engine = scratchDumpEngine(server.binaries(), server.socketDirectory(), worker, dumpOutput);
    DumpTarget dumpTarget = new DumpTarget("localhost", 5432, addon.database(), addon.user(), "");
    Path dumpScratch = Files.createDirectories(server.root().resolve("dump"));
    StreamingArchive.Packed packed;
    Integer expectedTables;
    long dumpStart = System.nanoTime();
    long firstByte;
    long dumpEnd;
    long archived;
    try (StreamingArchive archive = StreamingArchive.start(format, worker.compressionLevel(), worker.compressionThreads(),
        engine.dumpFileName(addon.database()), target, dumpScratch.resolve("archive"),
        encrypt ? (file, head) -> cipher.headLast(addon.id(), key, file, head) : HeadLastFile::plain)) {
      progress.dumping(archive);
      expectedTables = CheckedDump.dump(engine, dumpTarget, archive.dump(), dumpScratch);
      dumpEnd = System.nanoTime();
      firstByte = archive.firstByteNanos();
      packed = archive.finish();
      archived = System.nanoTime();
    } catch (DumpFailedException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("point-in-time restore " + request.getBackupId() + " stopped");
      }
      if (!progress.lost) {
        fail(request, "the restored database could not be dumped: " + e.getMessage());
      }
      return;
    } finally {
      progress.dumping(null);
    }
    if (progress.lost) {
      return;
    }
    store.putTaking(key, packed.file());
    progress.dumpingDetail = dumpBreakdown(dumpStart, firstByte, dumpEnd, archived, System.nanoTime());
    if (into != null) {
      // 4. into the operator's database, from the archive as stored (what a download would give)
      progress.phase("restoring-into-target", 0, null);
      IntoOutcome outcome = restoreInto(request, addon, key, archiveName, packed, into, server.root().resolve("into"));
      if (progress.lost) {
        return;
      }
      if (outcome.failure() != null) {
        // a failed restore has no listing entry to download it from, nor one retention would prune it by
        store.delete(key);
        fail(request, outcome.failure() + "; the restored archive was not kept");
        return;
      }
      why = "restored to " + target + " from base backup " + base.backupId() + ", then " + outcome.done();
    }
    settling.add(request.getBackupId());
    lifecycle.settle(request.getBackupId(), addon.id(), JobLedger.State.DONE, new BackupCompleted(request.getBackupId(),
        addon.id(), addon.appName(), request.getKind(), request.getRequestedAt(), startedAt, clock.instant(),
        "scratch server", why, key, archiveName, packed.size(), packed.sha256(), expectedTables, null, target, null));
    log.info("point-in-time restore {} of addon {} done: {} ({} bytes; {})", request.getBackupId(), addon.id(), archiveName,
        packed.size(), progress.timings(walBytes));
  }

  /**
   * The dumping phase in parts, from {@link System#nanoTime()} readings, as a backup's log line gives them: until
   * pg_dump's first byte (the table count, the tool's start, its catalog reads), the dump, the archive's finishing
   * (its head, the read-back for its size and checksum), the store. {@code firstByte} 0: nothing was written.
   */
  static String dumpBreakdown(long start, long firstByte, long dumpEnd, long archived, long stored) {
    long rowsFrom = firstByte != 0 ? Math.min(Math.max(firstByte, start), dumpEnd) : start;
    return (firstByte != 0 ? "first byte " + millis(rowsFrom - start) + " ms, " : "")
        + "pg_dump " + millis(dumpEnd - rowsFrom) + " ms, archive " + millis(archived - dumpEnd) + " ms, store "
        + millis(stored - archived) + " ms";
  }

  private static long millis(long nanos) {
    return Math.max(0, nanos) / 1_000_000;
  }

  /**
   * The recovered database's dump, as a backup's: the scratch server's own binaries over its socket, with the
   * worker's timeouts and output buffer ({@link OutputBuffer}: written a page at a time, a dump costs more CPU).
   */
  static PostgresDumpEngine scratchDumpEngine(Path binaries, Path socketDirectory, WorkerProperties worker,
      OutputBuffer dumpOutput) {
    return new PostgresDumpEngine(PostgresClients.fixed(binaries.resolve("pg_dump").toString(),
        binaries.resolve("pg_restore").toString()), binaries.resolve("psql").toString(), worker.dumpTimeout(),
        worker.connectTimeout(), worker.dumpStallTimeout(), dumpOutput)
        .throughSocket(socketDirectory);
  }

  /** A restore target as checked before anything runs: the target, or why it cannot be used. */
  private record Into(DumpTarget target, String refusal) {}

  /**
   * The operator's target checked again by {@link ConnectionValues}' rules (a request replayed from before
   * they existed, or written by something else than the gateway), its password opened, then asked whether
   * it exists and is empty: a target that cannot be used is known before hours of replay, not after.
   */
  private Into checkTarget(BackupRequested request, RestoreTarget target) throws IOException {
    if (sealer == null || targets == null) {
      return new Into(null, "this worker is not set up to restore into a named database");
    }
    String password;
    try {
      password = sealer.open(request.getAddonId(), target.getPassword());
    } catch (IllegalStateException e) {
      return new Into(null, "the target database's password cannot be opened: " + e.getMessage());
    }
    List<ConnectionValues.Violation> violations = ConnectionValues.check(target.getHost(), target.getPort(),
        target.getDatabase(), target.getUser(), password);
    if (!violations.isEmpty()) {
      return new Into(null, "the target database's settings are invalid: "
          + String.join("; ", violations.stream().map(ConnectionValues.Violation::toString).toList()));
    }
    DumpTarget into = new DumpTarget(target.getHost(), target.getPort(), target.getDatabase(), target.getUser(), password);
    Files.createDirectories(worker.workDirectory());
    Path scratch = Files.createTempDirectory(worker.workDirectory(), "into-");
    try {
      targets.requireEmpty(into, scratch);
      return new Into(into, null);
    } catch (PostgresTargetRestore.Refused e) {
      return new Into(null, e.getMessage());
    } catch (DumpFailedException e) {
      return new Into(null, describe(into) + " cannot be used: " + e.getMessage());
    } finally {
      JobLifecycle.deleteTree(scratch);
    }
  }

  /** What the restore into a target did ({@code done}), or why it failed ({@code failure}, scrubbed). */
  private record IntoOutcome(String done, String failure) {
    static IntoOutcome failed(String why) {
      return new IntoOutcome(null, why);
    }
  }

  /** {@code pg_restore} of the stored archive's dump into the target. */
  private IntoOutcome restoreInto(BackupRequested request, Addon addon, String key, String archiveName, StreamingArchive.Packed packed,
      DumpTarget into, Path scratch) throws IOException {
    Files.createDirectories(scratch);
    try (ArchiveReader.Unpacked archive = new ArchiveReader(store, cipher).unpack(addon.id(), key, archiveName)) {
      InputStream dump = archive.dump();
      if (dump == null) {
        return IntoOutcome.failed("the restored archive holds no dump");
      }
      RestoreEngine.Restored restored = targets.restore(into, dump, scratch);
      log.info("point-in-time restore {}: restored into {} ({} tables, {} rows)", request.getBackupId(), describe(into),
          restored.tables(), restored.rows());
      String mismatch = archive.check(packed.size(), packed.sha256());
      if (mismatch != null) {
        return IntoOutcome.failed("the restored archive read back differs from the one stored: " + mismatch);
      }
      return new IntoOutcome("pg_restored into " + describe(into) + " (" + restored.tables() + " tables, " + restored.rows()
          + " rows)", null);
    } catch (PostgresTargetRestore.Refused e) {
      return IntoOutcome.failed(e.getMessage());
    } catch (DumpFailedException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("point-in-time restore " + request.getBackupId() + " stopped");
      }
      return IntoOutcome.failed("the restore into " + describe(into) + " failed: " + e.getMessage());
    } finally {
      JobLifecycle.deleteTree(scratch);
    }
  }

  /** Where a target is, for reasons and logs: never its user's password. */
  private static String describe(DumpTarget target) {
    return "database " + target.database() + " on " + target.host() + ":" + target.port();
  }

  /**
   * Waits for the server to promote; null when it did, else why it failed. A recovery that ran out of WAL
   * before a commit after the target ({@code recovery ended before configured recovery target was
   * reached}) holds every commit up to the target, which the window guarantees archived: the server is
   * started again without a target, replays to the end of the archive and promotes (design §7.1 step 5).
   */
  private String recover(BackupRequested request, Addon addon, PitrWindows.Base base, ScratchServer server,
      ScratchServer.Control control, Progress progress) throws IOException {
    Instant deadline = clock.instant().plus(properties.recoveryTimeout());
    boolean restarted = false;
    while (!progress.lost) {
      ScratchServer.Outcome outcome = server.outcome(addon.user(), addon.database());
      switch (outcome) {
        case PROMOTED -> {
          return null;
        }
        case TARGET_NOT_REACHED -> {
          if (restarted) {
            return "the recovery ended before the target time although no target was set: " + server.failure();
          }
          log.info("point-in-time restore {}: the archive ends before any commit after the target; replaying to its end",
              request.getBackupId());
          server.writeSettings(control, List.of("recovery_target_timeline = 'latest'", "recovery_target_action = 'promote'"));
          server.start();
          restarted = true;
        }
        case FAILED -> {
          return "the recovery failed: " + server.failure();
        }
        case RUNNING -> {
          Long replayed = server.replayedLsn(addon.user(), addon.database());
          if (replayed != null) {
            progress.done.set(Math.max(0, replayed - base.startLsn()));
          }
          if (clock.instant().isAfter(deadline)) {
            return "the recovery did not end within " + properties.recoveryTimeout();
          }
          JobLifecycle.sleep(POLL);
        }
      }
    }
    return null;
  }

  /**
   * The history of the newest timeline the archive holds after the base's ({@code recovery_target_timeline
   * = latest} follows it), or the base's own timeline with no switch.
   */
  static TimelineHistory timelinePath(WalSegmentStore wal, ClusterWal cluster, int baseTimeline) throws IOException {
    int latest = baseTimeline;
    byte[] content = null;
    while (true) {
      Optional<byte[]> next = wal.history(cluster, latest + 1);
      if (next.isEmpty()) {
        break;
      }
      latest++;
      content = next.get();
    }
    return content == null ? new TimelineHistory(latest, List.of()) : TimelineHistory.parse(latest, content);
  }

  /** Where the archive ends on {@code timeline}: replay's progress is counted against it. */
  private static long archivedEnd(WalSegmentStore wal, ClusterWal cluster, int timeline, long segmentSize, long atLeast)
      throws IOException {
    List<StoredWal> stored = wal.list(cluster, timeline, segmentSize);
    long end = stored.stream().map(StoredWal::end).max(Lsn::compareTo).map(Lsn::value).orElse(atLeast);
    return Math.max(end, atLeast);
  }

  /** A short, fixed-length name part per job: scratch paths must stay short (Unix socket paths). */
  static String scratchPrefix(String backupId) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(backupId.getBytes(StandardCharsets.UTF_8));
      return "pitr-" + HexFormat.of().formatHex(digest, 0, 6) + "-";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void waitOrFail(JobLedger.Job claimed, BackupRequested request, String reason) {
    Instant now = clock.instant();
    if (now.isBefore(claimed.recordedAt().plus(worker.addonWait()))) {
      ledger.reschedule(request.getBackupId(), worker.instanceName(), now.plus(Duration.ofMillis(500)), claimed.failures(),
          reason);
      return;
    }
    fail(request, reason);
  }

  private void fail(BackupRequested request, String reason) {
    settling.add(request.getBackupId());
    lifecycle.settle(request.getBackupId(), request.getAddonId(), JobLedger.State.FAILED, new BackupFailed(
        request.getBackupId(), request.getAddonId(), request.getAppName(), request.getKind(), request.getRequestedAt(),
        clock.instant(), "scratch server", reason));
    log.warn("point-in-time restore {} of addon {} failed: {}", request.getBackupId(), request.getAddonId(), reason);
  }

  /** What the heartbeat reports: the lease renewed, the phase and its progress, an estimate of the time left. */
  private final class Progress {
    private final BackupRequested request;
    final AtomicLong done = new AtomicLong();
    volatile String phase;
    volatile Long total;
    volatile Instant phaseStart;
    /** Milliseconds spent in each phase that ended, in order. */
    private final Map<String, Long> took = new LinkedHashMap<>();
    volatile boolean lost;
    volatile ScratchServer server;
    volatile StreamingArchive archive;
    private long reported = -1;
    private String reportedPhase;
    /** Where the dumping phase's time went, once the archive is stored ({@link PitrRestoreJob#dumpBreakdown}). */
    volatile String dumpingDetail;

    Progress(BackupRequested request) {
      this.request = request;
    }

    void phase(String name, long doneSoFar, Long totalOfPhase) {
      Instant now = clock.instant();
      closePhase(now);
      done.set(doneSoFar);
      total = totalOfPhase;
      phaseStart = now;
      phase = name;
    }

    private void closePhase(Instant now) {
      if (phase != null && phaseStart != null) {
        took.merge(phase, Duration.between(phaseStart, now).toMillis(), Long::sum);
      }
    }

    /**
     * Where the time went, for operators and {@code bench/pitr.sh}: each phase's milliseconds (the one still
     * running up to now), and the WAL replay rate over the replaying phase (fetch, replay and promotion).
     */
    String timings(long walBytes) {
      Instant now = clock.instant();
      Map<String, Long> all = new LinkedHashMap<>(took);
      if (phase != null && phaseStart != null) {
        all.merge(phase, Duration.between(phaseStart, now).toMillis(), Long::sum);
      }
      StringBuilder out = new StringBuilder();
      all.forEach((name, ms) -> {
        out.append(out.isEmpty() ? "" : ", ").append(name).append(' ').append(ms).append(" ms");
        if ("dumping".equals(name) && dumpingDetail != null) {
          out.append(" (").append(dumpingDetail).append(')');
        }
        if ("replaying-wal".equals(name)) {
          out.append(" (").append(walBytes >> 20).append(" MiB of WAL, ")
              .append(ms == 0 ? "-" : String.format(Locale.ROOT, "%.0f", walBytes / 1048576.0 / (ms / 1000.0)))
              .append(" MiB/s)");
        }
      });
      return out.toString();
    }

    void dumping(StreamingArchive current) {
      if (current != null) {
        phase("dumping", 0, null);
      }
      archive = current;
    }

    void beat() {
      if (settling.contains(request.getBackupId())) {
        return;
      }
      try {
        if (!lost && !lifecycle.renew(request.getBackupId(), lifecycle.leaseEnd())) {
          lost = true;
          log.warn("point-in-time restore {}: another worker took the job over; this attempt is abandoned", request.getBackupId());
          StreamingArchive current = archive;
          if (current != null) {
            current.abort("the job was taken over by another worker");
          }
          ScratchServer s = server;
          if (s != null) {
            s.stopImmediately();
          }
          return;
        }
        StreamingArchive current = archive;
        long now = current != null ? current.dumpedBytes() : done.get();
        if (phase == null || (now == reported && phase.equals(reportedPhase))) {
          return;
        }
        reported = now;
        reportedPhase = phase;
        publisher.publish(Topics.BACKUP_PROGRESS, request.getAddonId(), new BackupProgress(request.getBackupId(),
            request.getAddonId(), request.getAppName(), clock.instant(), current != null ? current.dumpedBytes() : 0,
            current != null ? current.storedBytes() : 0, 1, lifecycle.owner(), phase, now, total, eta(now)));
      } catch (RuntimeException e) {
        log.warn("point-in-time restore {}: heartbeat failed, retried at the next one: {}", request.getBackupId(), e.toString());
      }
    }

    /** Seconds left in this phase at its rate so far; null before it can be told. */
    private Long eta(long now) {
      Long all = total;
      Instant since = phaseStart;
      if (all == null || since == null || now <= 0) {
        return null;
      }
      long elapsed = Duration.between(since, clock.instant()).toMillis();
      return Math.max(0, (all - now) * elapsed / now / 1000);
    }
  }

  /** Counts the bytes read through it (the base's progress). */
  private static final class Counting extends FilterInputStream {
    private final AtomicLong count;

    Counting(InputStream in, AtomicLong count) {
      super(in);
      this.count = count;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count.incrementAndGet();
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count.addAndGet(n);
      }
      return n;
    }
  }
}
