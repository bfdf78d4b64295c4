package dev.backstop.worker.pitr;

import com.github.luben.zstd.ZstdInputStream;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.pitr.TimelineHistory;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.worker.config.PitrRestoreProperties;
import dev.backstop.worker.job.JobLifecycle;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The restore test of a base backup (kind {@code PITR_BASE}, docs/pitr-design.md §5): the base unpacked into
 * a {@link ScratchServer}, recovered to its own end ({@code recovery_target='immediate'}: the first consistent
 * point, with the base's WAL from the archive), promoted, then asked {@code SELECT 1} and how many tables its
 * database has. A base that recovers and answers passed; one that the server refuses failed, with the
 * server's reason. WAL not archived up to the base's end yet is not the base's fault: {@link WalNotYetArchived}
 * is thrown and the verifier tries again after its backoff.
 */
public final class BaseRestoreTest {

  /** The base's WAL is not (yet) in the archive up to its consistent point. */
  public static final class WalNotYetArchived extends IOException {
    public WalNotYetArchived(String message) {
      super(message);
    }
  }

  private static final String COUNT_TABLES = "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
      + "where c.relkind in ('r', 'p') and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'";

  private final ArchiveStore store;
  private final ArchiveCipher cipher;
  private final PitrRestoreProperties properties;
  private final Path workDirectory;
  private final String verifier;
  private final Clock clock;
  private final Duration recoveryTimeout;

  public BaseRestoreTest(ArchiveStore store, ArchiveCipher cipher, PitrRestoreProperties properties, Path workDirectory,
      String verifier, Clock clock) {
    this.store = store;
    this.cipher = cipher;
    this.properties = properties;
    this.workDirectory = workDirectory;
    this.verifier = verifier;
    this.clock = clock;
    this.recoveryTimeout = properties.recoveryTimeout();
  }

  /**
   * Tests the base {@code completed} announced; {@code user} and {@code database} are the addon's (the roles
   * and database the base holds).
   *
   * @throws WalNotYetArchived the WAL it needs is not archived yet: try again later
   * @throws IOException the store or this worker failed (no binaries of the base's version here, a full disk)
   */
  public BackupVerified test(BackupCompleted completed, int attempt, String user, String database) throws IOException {
    long start = System.nanoTime();
    String prefix = "pitrbase-" + PitrRestoreJob.scratchPrefix(completed.getBackupId()).substring("pitr-".length());
    ScratchServer.reclaim(workDirectory, prefix, properties.binaries(), properties.serverUser());
    Files.createDirectories(workDirectory);
    String key = PitrKeys.base(completed.getAddonId(), completed.getBackupId());
    if (!store.exists(key)) {
      return outcome(completed, false, "the base backup is no longer stored", 0, start);
    }
    try (ScratchServer server = new ScratchServer(workDirectory.resolve(prefix + attempt), properties.serverUser())) {
      try (InputStream tar = new ZstdInputStream(cipher.open(completed.getAddonId(), key, 0))) {
        server.extract(tar);
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("the base backup could not be unpacked")) {
          return outcome(completed, false, e.getMessage(), 0, start);
        }
        throw e;
      }
      try {
        server.use(ScratchServer.binaries(properties.binaries(), server.major()));
      } catch (ScratchServer.MissingBinariesException e) {
        throw new IOException(e.getMessage());
      }
      ScratchServer.Control control = server.control();
      int timeline = completed.getPitrBase() != null ? completed.getPitrBase().getTimeline() : 1;
      ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(store, cipher, server.root().resolve("wal/put"));
      try (WalPrefetcher prefetcher = new WalPrefetcher(wal, new ClusterWal(completed.getAddonId(), control.systemId()), control.segmentSize(),
          new TimelineHistory(timeline, List.of()), server.walDirectory(), server.owner(), properties.lookahead(),
          properties.fetchThreads()).start()) {
        server.prepare(control, List.of("recovery_target = 'immediate'", "recovery_target_timeline = 'current'",
            "recovery_target_action = 'promote'"));
        server.start();
        Instant deadline = clock.instant().plus(recoveryTimeout);
        while (true) {
          ScratchServer.Outcome outcome = server.outcome(user, database);
          if (outcome == ScratchServer.Outcome.PROMOTED) {
            break;
          }
          if (outcome != ScratchServer.Outcome.RUNNING) {
            String why = server.failure();
            if (why.contains("WAL ends before consistent recovery point") || why.contains("could not locate required checkpoint")
                || why.contains("WAL ends before end of online backup")) {
              throw new WalNotYetArchived("the WAL of base " + completed.getBackupId() + " is not archived up to its end yet: " + why);
            }
            return outcome(completed, false, "the base did not recover: " + why, 0, start);
          }
          if (clock.instant().isAfter(deadline)) {
            return outcome(completed, false, "the base did not recover within " + recoveryTimeout, 0, start);
          }
          JobLifecycle.sleep(Duration.ofMillis(200));
        }
      }
      String one = server.query(user, database, "select 1");
      String tables = server.query(user, database, COUNT_TABLES);
      if (!"1".equals(one) || tables == null) {
        return outcome(completed, false, "the recovered server does not answer in database " + database, 0, start);
      }
      int count = Integer.parseInt(tables);
      return outcome(completed, true, "recovered to its end and promoted; database " + database + " has " + count + " table"
          + (count == 1 ? "" : "s"), count, start);
    }
  }

  private BackupVerified outcome(BackupCompleted completed, boolean passed, String summary, int tables, long start) {
    return new BackupVerified(completed.getBackupId(), completed.getAddonId(), completed.getAppName(), clock.instant(), passed,
        summary, tables, 0L, (System.nanoTime() - start) / 1_000_000, verifier);
  }
}
