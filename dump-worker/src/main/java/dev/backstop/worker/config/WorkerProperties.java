package dev.backstop.worker.config;

import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.worker.postgres.PostgresClients;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Dump worker settings ({@code backstop.worker.*}), bound once at startup through the constructor.
 * Each default is written here and nowhere else (dump-worker.yml does not repeat them; environment
 * variables such as {@code BACKSTOP_WORKER_DUMP_ATTEMPTS} reach them by relaxed binding).
 *
 * @param workDirectory scratch space for dumps and archives being packed; each job cleans its own folder
 *     (default: {@code backstop-worker} in the system's temporary folder)
 * @param dumpTimeout a dump running longer than this is killed and the backup fails with that reason
 * @param dumpStallTimeout a dump tool that writes nothing for this long is stopped and the attempt counts as a
 *     transient failure (retried): what a database host that vanished without closing its connection looks like,
 *     which TCP alone notices only after hours. The tool is silent too while it reads the catalog and takes its
 *     locks before the first byte: a database of tens of thousands of tables may need more
 * @param addonWait how long a request for an addon this worker has not heard of yet waits for its
 *     registration (the addons topic and the requests topic are read independently) before it fails
 * @param dumpAttempts attempts of a dump whose failure is transient (server restarting, connection refused,
 *     recovery conflict), the first included
 * @param retryBackoff wait before the second attempt; it doubles before each later one
 * @param leaseDuration how long a job stays taken without a heartbeat: a worker that dies mid-dump loses the
 *     job to another worker this long after its last heartbeat
 * @param heartbeatInterval how often a running job renews its lease and reports its progress ({@code BackupProgress})
 * @param maxReplicationLag a secondary further behind its primary than this is not dumped: the backup would miss
 *     recent writes
 * @param fallBackToPrimary whether a Business addon whose secondaries all fail their checks is dumped on its
 *     primary (the reason is recorded in the events) rather than failing: a backup on the primary beats none
 * @param psql the {@code psql} executable, which asks PostgreSQL servers their version, tables and standby state;
 *     a bare name is the newest under {@code pg-client-directory} if any there, else looked up on PATH
 * @param mysql the {@code mysql} client, which asks MySQL and MariaDB replicas how they are doing
 * @param concurrentDumps dumps this worker runs at once: the threads of its job runner
 * @param pollInterval how often an idle job runner looks for runnable jobs it was not woken for: backoffs that
 *     ended, jobs of a worker that died (their lease ran out). A request this worker reads wakes it at once
 * @param hostSlotRetry how soon a job whose host has no free dump slot looks again; it waits in the queue, not on
 *     a thread
 * @param connectTimeout how long {@code pg_dump} waits for a server to answer its connection ({@code PGCONNECT_TIMEOUT})
 * @param dumpsPerHost dumps running at once against one database host, across all workers; more wait their turn
 * @param archiveFormat how archives are compressed: {@code zstd} ({@code .tar.zst}) or {@code gzip} ({@code .tar.gz})
 * @param compressionLevel compression level; unset means the format's default (zstd 1, gzip 6)
 * @param compressionThreads threads compressing one archive (zstd only); unset means the cores, at most 4
 * @param pgDump the {@code pg_dump} executable; a bare name is looked up on PATH. Used when its {@code --version}
 *     suits the server and {@code pg-client-directory} has no better one
 * @param pgClientDirectory where each PostgreSQL major version's clients live, {@code {major}} standing for the
 *     version as a folder name (Debian's and PGDG's packages: {@code /usr/lib/postgresql/{major}/bin}). A dump runs the
 *     server's own major's {@code pg_dump}, else the newest above it; a restore test the newest {@code pg_restore}
 * @param mysqldump the {@code mysqldump} executable (MySQL's or MariaDB's); a bare name is looked up on PATH
 * @param dumpOutputBuffer how much {@code pg_dump} and {@code mysqldump} (a backup's, or a point-in-time restore's of
 *     the recovered database) and {@code pg_restore} (writing a restore test's table data) gather before each write
 *     to the worker, set
 *     through coreutils' {@code stdbuf} (on PATH; without it, or at 0, the tools write as the C library does, a page
 *     at a time). A pipe holds 64 KiB: more saves little. What a dump has written reaches the worker, and its
 *     progress, at most this much late
 * @param instanceName this instance's name in events and job leases; unset means process id and host name
 */
@Validated
@ConfigurationProperties("backstop.worker")
public record WorkerProperties(
    @NotNull Path workDirectory,
    @NotNull @DefaultValue("6h") Duration dumpTimeout,
    @NotNull @DefaultValue("10m") Duration dumpStallTimeout,
    @NotNull @DefaultValue("30s") Duration addonWait,
    @Min(1) @DefaultValue("3") int dumpAttempts,
    @NotNull @DefaultValue("30s") Duration retryBackoff,
    @NotNull @DefaultValue("30s") Duration leaseDuration,
    @NotNull @DefaultValue("5s") Duration heartbeatInterval,
    @NotNull @DefaultValue("5m") Duration maxReplicationLag,
    @DefaultValue("true") boolean fallBackToPrimary,
    @NotBlank @DefaultValue("psql") String psql,
    @NotBlank @DefaultValue("mysql") String mysql,
    @Min(1) @DefaultValue("2") int concurrentDumps,
    @NotNull @DefaultValue("500ms") Duration pollInterval,
    @NotNull @DefaultValue("1s") Duration hostSlotRetry,
    @NotNull @DefaultValue("15s") Duration connectTimeout,
    @Min(1) @DefaultValue("2") int dumpsPerHost,
    @NotNull @DefaultValue("zstd") ArchiveFormat archiveFormat,
    @Min(1) @Max(19) Integer compressionLevel,
    @Min(1) Integer compressionThreads,
    @NotBlank @DefaultValue("pg_dump") String pgDump,
    @NotBlank @jakarta.validation.constraints.Pattern(regexp = PostgresClients.TEMPLATE_PATTERN)
    @DefaultValue("/usr/lib/postgresql/{major}/bin") String pgClientDirectory,
    @NotBlank @DefaultValue("mysqldump") String mysqldump,
    @NotNull @DefaultValue("64KB") DataSize dumpOutputBuffer,
    @NotBlank String instanceName) {

  /** Fills in the defaults that depend on the machine or on another setting. */
  public WorkerProperties {
    if (workDirectory == null) {
      workDirectory = Path.of(System.getProperty("java.io.tmpdir"), "backstop-worker");
    }
    if (compressionLevel == null && archiveFormat != null) {
      compressionLevel = archiveFormat.defaultLevel();
    }
    if (compressionThreads == null) {
      compressionThreads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    }
    if (instanceName == null) {
      instanceName = ProcessHandle.current().pid() + "@" + hostName();
    }
  }

  @AssertTrue(message = "backstop.worker.dump-output-buffer must be 0 or from 4KB to 64MB")
  public boolean isDumpOutputBufferValid() {
    long bytes = dumpOutputBuffer.toBytes();
    return bytes == 0 || (bytes >= 4096 && bytes <= (64L << 20));
  }

  /**
   * The settings {@code settings} gives (keys as in {@code backstop.worker.*}, e.g. {@code heartbeat-interval},
   * values as text or already typed), every other one at its default: what Spring binds, for tests and tools.
   */
  public static WorkerProperties bind(Map<String, ?> settings) {
    return Settings.bind("backstop.worker", settings, WorkerProperties.class);
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
