package dev.backstop.worker.pitr;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.PitrBaseInfo;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.backup.DumpPlanner;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.engine.Scrubber;
import dev.backstop.worker.job.JobLifecycle;
import dev.backstop.worker.job.KindWork;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresFailures;
import jakarta.annotation.PreDestroy;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Runs one {@code PITR_BASE} request: a {@code pg_basebackup} of the addon's cluster, stored where
 * point-in-time restores read it ({@link PitrKeys#base}), and exactly one {@code BackupCompleted} (with
 * {@code pitrBase}: timeline and WAL range from the base's {@code backup_manifest}, server version,
 * system id, end time) or {@code BackupFailed}. The same leased job as a dump ({@code BackupJob}): node
 * chosen by {@link DumpPlanner} (a secondary on Business), a host slot held, transient failures
 * rescheduled in the queue, the outcome recorded before it is published (docs/pitr-design.md §5).
 *
 * <p>The stored object: the tar stream of {@code pg_basebackup -Ft -X none -D -} (holding
 * {@code backup_label} and {@code backup_manifest}), zstd level 1, encrypted with the addon's data key
 * exactly as dump archives are ({@link ArchiveCipher}, the object's key as associated data), so
 * service-kit's {@code ArchiveReader.unpack(addon, key, archiveName).members()} opens it. Size and
 * SHA-256 in the event are those of the compressed tar (the plaintext {@code ArchiveReader} returns).
 * No WAL is in it: WAL comes from the archive the wal-archiver keeps.
 */
@Component
public class BaseBackupJob implements KindWork {

  private static final Logger log = LoggerFactory.getLogger(BaseBackupJob.class);
  private static final Duration ADDON_LOOK_AGAIN = Duration.ofMillis(250);

  /** Asked before the backup, on a normal connection; the system id pairs the base with its WAL. */
  static final String IDENTIFY = "SELECT current_setting('server_version_num') || '|' || "
      + "(SELECT system_identifier FROM pg_control_system())";

  /**
   * libpq's and the server's transient words ({@link PostgresFailures}), and what pg_basebackup adds:
   * a standby promoted mid-backup ends it (the retry runs on the new topology), as do walsenders all in use.
   */
  static final FailureClassifier FAILURES = reason -> {
    if (PostgresFailures.CLASSIFIER.isTransient(reason)) {
      return FailureClassifier.Failure.TRANSIENT;
    }
    String text = reason == null ? "" : reason.toLowerCase(Locale.ROOT);
    boolean permanent = List.of("password authentication failed", "no pg_hba.conf entry", "no space left on device",
        "permission denied", "must be superuser or replication role").stream().anyMatch(text::contains);
    boolean passing = List.of("promoted during online backup", "exceeds max_wal_senders", "replication slots",
        "walsender").stream().anyMatch(text::contains);
    return passing && !permanent ? FailureClassifier.Failure.TRANSIENT : FailureClassifier.Failure.PERMANENT;
  };

  private final AddonCatalog addons;
  private final JobLedger ledger;
  private final HostSlots slots;
  private final ArchiveStore store;
  private final EventPublisher publisher;
  private final SecretSealer sealer;
  private final ReplicaProbe probe;
  private final WorkerProperties properties;
  private final Clock clock;
  private final ArchiveCipher cipher;
  private final PgBasebackupLocator locator;
  private final JobLifecycle lifecycle;

  @Autowired
  public BaseBackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock, ArchiveCipher cipher) {
    this(addons, ledger, slots, store, publisher, sealer, probes.get(Engine.POSTGRESQL), properties, clock, cipher,
        PgBasebackupLocator.standard());
  }

  public BaseBackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, ReplicaProbe probe, WorkerProperties properties, Clock clock, ArchiveCipher cipher,
      PgBasebackupLocator locator) {
    this.addons = addons;
    this.ledger = ledger;
    this.slots = slots;
    this.store = store;
    this.publisher = publisher;
    this.sealer = sealer;
    this.probe = probe;
    this.properties = properties;
    this.clock = clock;
    this.cipher = cipher;
    this.locator = locator;
    this.lifecycle = new JobLifecycle("base backup", ledger, publisher, properties.instanceName(), properties.leaseDuration(),
        properties.heartbeatInterval(), clock);
  }

  @Override
  public BackupKind kind() {
    return BackupKind.PITR_BASE;
  }

  @PreDestroy
  void stopHeartbeats() {
    lifecycle.close();
  }

  @Override
  public void run(JobLedger.Job claimed) throws IOException {
    BackupRequested request = (BackupRequested) EventCodec.get().decode(claimed.request());
    if (lifecycle.publishRecordedOutcome(claimed, request.getAddonId())) {
      return;
    }
    Running job = new Running(request);
    try (JobLifecycle.Heartbeat heartbeat = lifecycle.heartbeat(job::beat)) {
      prepare(request, job, claimed);
    } finally {
      if (job.slot != null) {
        slots.release(job.slot, request.getBackupId());
      }
    }
  }

  private void prepare(BackupRequested request, Running job, JobLedger.Job claimed) throws IOException {
    Optional<Addon> found = addons.find(request.getAddonId());
    if (found.isEmpty()) {
      Instant now = clock.instant();
      if (now.isBefore(claimed.recordedAt().plus(properties.addonWait()))) {
        ledger.reschedule(request.getBackupId(), properties.instanceName(), now.plus(ADDON_LOOK_AGAIN), claimed.failures(),
            "addon " + request.getAddonId() + " not registered yet");
        return;
      }
      fail(request, null, "addon " + request.getAddonId() + " is not registered with Backstop");
      return;
    }
    Addon addon = found.get();
    String refusal = refusal(addon);
    if (refusal != null) {
      fail(request, null, refusal);
      return;
    }
    List<String> hosts = addon.nodes().stream().map(Addon.Node::host).distinct().toList();
    if (!slots.anyFree(hosts, properties.dumpsPerHost(), request.getBackupId(), clock.instant())) {
      waitForSlot(request, claimed, String.join(", ", hosts));
      return;
    }
    String password;
    try {
      password = sealer.open(addon.id(), addon.toSpec().getPassword());
    } catch (IllegalStateException e) {
      fail(request, null, "the stored credentials cannot be read: " + e.getMessage());
      return;
    }
    String invalid = DumpTarget.refusal(addon.nodes(), addon.database(), addon.user(), password);
    if (invalid != null) {
      fail(request, null, invalid);
      return;
    }
    var decision = DumpPlanner.choose(addon.plan(), addon.nodes(),
        node -> probe.probe(new DumpTarget(node.host(), node.port(), addon.database(), addon.user(), password)),
        new DumpPlanner.SecondaryRules(properties.maxReplicationLag(), properties.fallBackToPrimary()));
    if (decision instanceof DumpPlanner.Refusal r) {
      fail(request, null, r.reason());
      return;
    }
    DumpPlanner.Choice choice = (DumpPlanner.Choice) decision;
    Instant now = clock.instant();
    var slot = slots.acquire(choice.node().host(), properties.dumpsPerHost(), request.getBackupId(), now,
        now.plus(properties.leaseDuration()));
    if (slot.isEmpty()) {
      waitForSlot(request, claimed, choice.node().host());
      return;
    }
    job.slot = slot.get();
    run(request, addon, choice, new DumpTarget(choice.node().host(), choice.node().port(), addon.database(), addon.user(),
        password), job, claimed);
  }

  /** Why this addon has no base backups at all (the scheduler asks only for PostgreSQL Starter and Business). */
  static String refusal(Addon addon) {
    if (addon.engine() != Engine.POSTGRESQL) {
      return "point-in-time recovery is offered for PostgreSQL only; " + addon.engine().name().toLowerCase(Locale.ROOT)
          + " databases have no base backups";
    }
    if (!addon.hasBackups()) {
      return "Sandbox plans have no point-in-time recovery";
    }
    if (addon.removed()) {
      return "the addon was removed";
    }
    return null;
  }

  private void waitForSlot(BackupRequested request, JobLedger.Job claimed, String hosts) {
    log.info("base backup {}: {} dumps already run on {}; it waits for one to end", request.getBackupId(),
        properties.dumpsPerHost(), hosts);
    ledger.reschedule(request.getBackupId(), properties.instanceName(), clock.instant().plus(properties.hostSlotRetry()),
        claimed.failures(), "waiting for a dump slot on " + hosts);
  }

  private void run(BackupRequested request, Addon addon, DumpPlanner.Choice choice, DumpTarget target, Running job,
      JobLedger.Job claimed) throws IOException {
    Instant startedAt = claimed.startedAt() != null ? claimed.startedAt() : clock.instant();
    int attempt = claimed.failures() + 1;
    job.attempt = attempt;
    ledger.started(request.getBackupId(), properties.instanceName(), startedAt);
    if (attempt == 1 || claimed.takenOver()) {
      publisher.publish(Topics.BACKUP_EVENTS, addon.id(), new BackupStarted(request.getBackupId(), addon.id(),
          addon.appName(), BackupKind.PITR_BASE, request.getRequestedAt(), startedAt, choice.label(), choice.why(),
          properties.instanceName()));
    }
    log.info("base backup {} of addon {} started on {} ({}), attempt {}", request.getBackupId(), addon.id(), choice.label(),
        choice.why(), attempt);
    String key = PitrKeys.base(addon.id(), request.getBackupId());
    Path scratch;
    try {
      Files.createDirectories(properties.workDirectory());
      scratch = Files.createTempDirectory(properties.workDirectory(), "base-" + request.getBackupId() + "-");
    } catch (IOException e) {
      if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) {
        throw e;
      }
      // a full disk, as BackupJob meets it: failed with the reason rather than given back to the runner without end
      fail(request, choice.label(), "the work directory cannot be used: " + e.getMessage());
      return;
    }
    try {
      Taken taken;
      try {
        taken = take(request, addon, target, key, scratch, job);
      } catch (DumpFailedException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedIOException("base backup " + request.getBackupId() + " stopped: " + e.getMessage());
        }
        if (job.lost) {
          log.warn("base backup {}: stopped, another worker has the job", request.getBackupId());
          return;
        }
        if (e instanceof Permanent || attempt >= properties.dumpAttempts() || !FAILURES.isTransient(e.getMessage())) {
          fail(request, choice.label(), attempt == 1 ? e.getMessage() : e.getMessage() + " (after " + attempt + " attempts)");
          return;
        }
        Duration wait = JobLifecycle.backoff(properties.retryBackoff(), attempt, ChronoUnit.FOREVER.getDuration());
        log.warn("base backup {} of addon {}: attempt {} of {} failed, tried again in {}: {}", request.getBackupId(),
            addon.id(), attempt, properties.dumpAttempts(), wait, e.getMessage());
        ledger.reschedule(request.getBackupId(), properties.instanceName(), clock.instant().plus(wait), attempt, e.getMessage());
        return;
      } catch (IOException e) {
        if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) {
          throw e instanceof InterruptedIOException stopped ? stopped
              : new InterruptedIOException("base backup " + request.getBackupId() + " stopped: " + e.getMessage());
        }
        if (job.lost) {
          log.warn("base backup {}: stopped, another worker has the job", request.getBackupId());
          return;
        }
        fail(request, choice.label(), "the base backup could not be stored: " + e.getMessage());
        return;
      }
      if (job.lost) {
        return;
      }
      String archiveName = StreamingArchive.archiveName(startedAt, "pitr-base", ArchiveFormat.ZSTD);
      PitrBaseInfo info = new PitrBaseInfo(taken.manifest().timeline(), taken.manifest().startLsn().value(),
          taken.manifest().stopLsn().value(), taken.serverVersionNum(), taken.systemId(), taken.endTime());
      lifecycle.settle(request.getBackupId(), addon.id(), JobLedger.State.DONE, new BackupCompleted(request.getBackupId(),
          addon.id(), addon.appName(), BackupKind.PITR_BASE, request.getRequestedAt(), startedAt, clock.instant(),
          choice.label(), choice.why(), key, archiveName, taken.size(), taken.sha256(), null, info, null, null));
      log.info("base backup {} of addon {} done: {} bytes stored (tar {} bytes), timeline {}, WAL {} to {}, server {}",
          request.getBackupId(), addon.id(), taken.size(), taken.tarBytes(), info.getTimeline(), taken.manifest().startLsn(),
          taken.manifest().stopLsn(), info.getServerVersionNum());
    } finally {
      JobLifecycle.deleteTree(scratch);
    }
  }

  /** A failure no retry can mend, whatever its words (no manifest, no pg_basebackup new enough). */
  static final class Permanent extends DumpFailedException {
    Permanent(String reason) {
      super(reason);
    }
  }

  record Taken(BaseBackupManifest manifest, int serverVersionNum, long systemId, Instant endTime, long size, String sha256,
      long tarBytes) {}

  private Taken take(BackupRequested request, Addon addon, DumpTarget target, String key, Path scratch, Running job)
      throws DumpFailedException, IOException {
    String passLine = PostgresDumpEngine.pgpassLine(target.host(), target.port(), "*", target.user(), target.password());
    Scrubber scrubber = Scrubber.hiding(target.password());
    String identity = ExternalCommand.output("psql", scratch, "pgpass", passLine, scrubber,
        passFile -> List.of(properties.psql(), "-X", "-A", "-t", "-q", "--no-password", "-h", target.host(), "-p",
            Integer.toString(target.port()), "-U", target.user(), "--dbname", target.database(), "-c", IDENTIFY),
        passFile -> environment(passFile), Duration.ofMinutes(1)).trim();
    String[] fields = identity.split("\\|");
    int versionNum;
    long systemId;
    try {
      versionNum = Integer.parseInt(fields[0]);
      systemId = Long.parseLong(fields[1]);
    } catch (RuntimeException e) {
      throw new DumpFailedException("could not read the server's version and system identifier: unexpected answer from psql");
    }
    if (versionNum < 130000) {
      throw new Permanent("PostgreSQL " + versionNum / 10000 + " writes no backup manifest; point-in-time recovery needs "
          + "PostgreSQL 13 or later");
    }
    int major = versionNum / 10000;
    String pgBasebackup = locator.locate(major).orElseThrow(() -> new Permanent(
        "no pg_basebackup for PostgreSQL " + major + " or later is installed on the worker"));

    Path file = scratch.resolve("base.tar.zst.tink");
    MessageDigest sha256 = sha256();
    ManifestTap tap;
    long size;
    try (OutputStream encrypted = cipher.encrypting(addon.id(), key, new BufferedOutputStream(Files.newOutputStream(file), 1 << 20));
        CountingDigest plaintext = new CountingDigest(encrypted, sha256);
        OutputStream zstd = ArchiveFormat.ZSTD.compressing(plaintext, 1, properties.compressionThreads())) {
      tap = new ManifestTap(new Abortable(zstd, job));
      job.compressed = plaintext;
      job.tap = tap;
      Path passFile = scratch.resolve("pgpass");
      ExternalCommand.runWithSecretFile("pg_basebackup", passFile, passLine, scrubber, List.of(pgBasebackup,
          "--host=" + target.host(), "--port=" + target.port(), "--username=" + target.user(), "--no-password",
          "--format=tar", "--wal-method=none", "--checkpoint=fast", "--pgdata=-",
          "--label=backstop-" + request.getBackupId()), environment(passFile), scratch, properties.dumpTimeout(), tap);
      zstd.close();
      size = plaintext.count;
    } finally {
      job.tap = null;
      job.compressed = null;
    }
    // when pg_basebackup exited: at or after the backup's true end, so a restore to it is always consistent
    Instant endTime = clock.instant();
    String manifestTail = tap.manifestTail();
    if (manifestTail == null) {
      throw new Permanent("pg_basebackup wrote no backup_manifest (turned off on the server?)");
    }
    BaseBackupManifest manifest;
    try {
      manifest = BaseBackupManifest.parse(manifestTail);
    } catch (IllegalArgumentException e) {
      throw new Permanent(e.getMessage());
    }
    if (!job.lost) {
      store.putTaking(key, file);
    }
    return new Taken(manifest, versionNum, systemId, endTime, size, HexFormat.of().formatHex(sha256.digest()), tap.bytes());
  }

  private Map<String, String> environment(Path passFile) {
    return Map.of("PGPASSFILE", passFile.toString(),
        "PGCONNECT_TIMEOUT", Long.toString(Math.max(2, properties.connectTimeout().toSeconds())),
        "PGAPPNAME", "backstop-pitr-base");
  }

  private void fail(BackupRequested request, String node, String reason) {
    lifecycle.settle(request.getBackupId(), request.getAddonId(), JobLedger.State.FAILED, new BackupFailed(request.getBackupId(),
        request.getAddonId(), request.getAppName(), BackupKind.PITR_BASE, request.getRequestedAt(), clock.instant(), node, reason));
    log.warn("base backup {} of addon {} failed: {}", request.getBackupId(), request.getAddonId(), reason);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The compressed tar on its way to the cipher: counted and hashed (what {@code ArchiveReader} gives back). */
  private static final class CountingDigest extends DigestOutputStream {
    private volatile long count;

    CountingDigest(OutputStream out, MessageDigest digest) {
      super(out, digest);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      super.write(b, off, len);
      count += len;
    }

    @Override
    public void write(int b) throws IOException {
      super.write(b);
      count++;
    }
  }

  /** Refuses writes once another worker took the job over: pg_basebackup is then stopped. */
  private static final class Abortable extends FilterOutputStream {
    private final Running job;

    Abortable(OutputStream out, Running job) {
      super(out);
      this.job = job;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (job.lost) {
        throw new IOException("the job was taken over by another worker");
      }
      out.write(b, off, len);
    }
  }

  /** The job as its heartbeat sees it: lease, host slot, bytes read from pg_basebackup. */
  private final class Running {
    private final BackupRequested request;
    private volatile String slot;
    private volatile ManifestTap tap;
    private volatile CountingDigest compressed;
    private volatile boolean lost;
    private long reported = -1;
    private volatile int attempt = 1;

    Running(BackupRequested request) {
      this.request = request;
    }

    void beat() {
      try {
        Instant until = lifecycle.leaseEnd();
        if (!lost && !lifecycle.renew(request.getBackupId(), until)) {
          lost = true;
          log.warn("base backup {}: another worker took the job over; this one is abandoned", request.getBackupId());
          return;
        }
        String held = slot;
        if (held != null) {
          slots.renew(held, request.getBackupId(), until);
        }
        ManifestTap current = tap;
        CountingDigest stored = compressed;
        if (current != null && stored != null && current.bytes() != reported) {
          reported = current.bytes();
          publisher.publish(Topics.BACKUP_PROGRESS, request.getAddonId(), new BackupProgress(request.getBackupId(),
              request.getAddonId(), request.getAppName(), clock.instant(), reported, stored.count, attempt, lifecycle.owner(),
              null, null, null, null));
        }
      } catch (RuntimeException e) {
        log.warn("base backup {}: heartbeat failed, retried at the next one: {}", request.getBackupId(), e.toString());
      }
    }
  }
}
