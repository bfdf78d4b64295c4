package dev.backstop.worker.pitr;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.PitrBaseInfo;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.backup.AddonJobs;
import dev.backstop.worker.backup.DumpPlanner;
import dev.backstop.worker.backup.RunningJob;
import dev.backstop.worker.backup.TargetPreparation;
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
import dev.backstop.worker.job.KindWork;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresFailures;
import jakarta.annotation.PreDestroy;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

  private final ArchiveStore store;
  private final WorkerProperties properties;
  private final Clock clock;
  private final ArchiveCipher cipher;
  private final PostgresClients clients;
  private final AddonJobs jobs;

  @Autowired
  public BaseBackupJob(AddonCatalog addons, JobLedger ledger, HostSlots slots, ArchiveStore store, EventPublisher publisher,
      SecretSealer sealer, Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock, ArchiveCipher cipher,
      PostgresClients clients) {
    this.store = store;
    this.properties = properties;
    this.clock = clock;
    this.cipher = cipher;
    this.clients = clients;
    this.jobs = new AddonJobs("base backup", "base-", addons, ledger, slots, sealer, probes, publisher, properties, clock,
        new AddonJobs.Watcher() {});
  }

  @Override
  public BackupKind kind() {
    return BackupKind.PITR_BASE;
  }

  @PreDestroy
  void stopHeartbeats() {
    jobs.close();
  }

  @Override
  public void run(JobLedger.Job claimed) throws IOException {
    BackupRequested request = (BackupRequested) EventCodec.get().decode(claimed.request());
    jobs.run(request, claimed, BaseBackupJob::refusal, (job, go, start, scratch) -> backUp(request, go, job, start, scratch));
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

  /** Takes the base backup, stores it, and settles the job. */
  private void backUp(BackupRequested request, TargetPreparation.Go go, RunningJob job, RunningJob.Start start,
      Path scratch) throws IOException {
    Addon addon = go.addon();
    DumpPlanner.Choice choice = go.choice();
    String key = PitrKeys.base(addon.id(), request.getBackupId());
    Taken taken;
    try {
      taken = take(request, addon, go.target(), key, scratch, job, start.attempt());
    } catch (DumpFailedException e) {
      job.attemptFailed(e, start.attempt(), !(e instanceof Permanent) && FAILURES.isTransient(e.getMessage()));
      return;
    } catch (IOException e) {
      job.storeFailed(e, "the base backup");
      return;
    }
    if (job.lost()) {
      return;
    }
    String archiveName = StreamingArchive.archiveName(start.at(), "pitr-base", ArchiveFormat.ZSTD);
    PitrBaseInfo info = new PitrBaseInfo(taken.manifest().timeline(), taken.manifest().startLsn().value(),
        taken.manifest().stopLsn().value(), taken.serverVersionNum(), taken.systemId(), taken.endTime());
    job.completed(new BackupCompleted(request.getBackupId(), addon.id(), addon.appName(), BackupKind.PITR_BASE,
        request.getRequestedAt(), start.at(), clock.instant(), choice.label(), choice.why(), key, archiveName, taken.size(),
        taken.sha256(), null, info, null, null));
    log.info("base backup {} of addon {} done: {} bytes stored (tar {} bytes), timeline {}, WAL {} to {}, server {}",
        request.getBackupId(), addon.id(), taken.size(), taken.tarBytes(), info.getTimeline(), taken.manifest().startLsn(),
        taken.manifest().stopLsn(), info.getServerVersionNum());
  }

  /** A failure no retry can mend, whatever its words (no manifest, no pg_basebackup new enough). */
  static final class Permanent extends DumpFailedException {
    Permanent(String reason) {
      super(reason);
    }
  }

  record Taken(BaseBackupManifest manifest, int serverVersionNum, long systemId, Instant endTime, long size, String sha256,
      long tarBytes) {}

  private Taken take(BackupRequested request, Addon addon, DumpTarget target, String key, Path scratch, RunningJob job,
      int attempt) throws DumpFailedException, IOException {
    String passLine = PostgresDumpEngine.pgpassLine(target.host(), target.port(), "*", target.user(), target.password());
    Scrubber scrubber = Scrubber.hiding(target.password());
    String identity = ExternalCommand.output("psql", scratch, "pgpass", passLine, scrubber,
        passFile -> List.of(clients.psql(properties.psql()), "-X", "-A", "-t", "-q", "--no-password", "-h", target.host(), "-p",
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
    String pgBasebackup;
    try {
      pgBasebackup = clients.pgBasebackup(major);
    } catch (PostgresClients.ClientMissingException e) {
      throw new Permanent(e.getMessage());
    }

    Path file = scratch.resolve("base.tar.zst.tink");
    MessageDigest sha256 = sha256();
    ManifestTap tap;
    long size;
    try (OutputStream encrypted = cipher.encrypting(addon.id(), key, new BufferedOutputStream(Files.newOutputStream(file), 1 << 20));
        CountingDigest plaintext = new CountingDigest(encrypted, sha256);
        OutputStream zstd = ArchiveFormat.ZSTD.compressing(plaintext, 1, properties.compressionThreads())) {
      tap = new ManifestTap(new Abortable(zstd, job));
      job.working(new Progress(tap, plaintext), attempt);
      Path passFile = scratch.resolve("pgpass");
      ExternalCommand.runWithSecretFile("pg_basebackup", passFile, passLine, scrubber, List.of(pgBasebackup,
          "--host=" + target.host(), "--port=" + target.port(), "--username=" + target.user(), "--no-password",
          "--format=tar", "--wal-method=none", "--checkpoint=fast", "--pgdata=-",
          "--label=backstop-" + request.getBackupId()), environment(passFile), scratch, properties.dumpTimeout(), tap);
      zstd.close();
      size = plaintext.count;
    } finally {
      job.working(null, attempt);
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
    if (!job.lost()) {
      store.putTaking(key, file);
    }
    return new Taken(manifest, versionNum, systemId, endTime, size, HexFormat.of().formatHex(sha256.digest()), tap.bytes());
  }

  private Map<String, String> environment(Path passFile) {
    return Map.of("PGPASSFILE", passFile.toString(),
        "PGCONNECT_TIMEOUT", Long.toString(Math.max(2, properties.connectTimeout().toSeconds())),
        "PGAPPNAME", "backstop-pitr-base");
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
    private final RunningJob job;

    Abortable(OutputStream out, RunningJob job) {
      super(out);
      this.job = job;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (job.lost()) {
        throw new IOException("the job was taken over by another worker");
      }
      out.write(b, off, len);
    }
  }

  /** What the heartbeat reports: bytes read from pg_basebackup, and compressed bytes stored. */
  private record Progress(ManifestTap tap, CountingDigest compressed) implements RunningJob.Work {
    @Override
    public long dumpedBytes() {
      return tap.bytes();
    }

    @Override
    public long storedBytes() {
      return compressed.count;
    }

    @Override
    public void abort(String reason) {
      // Abortable already refuses the next write once the job is lost
    }
  }
}
