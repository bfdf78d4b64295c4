package dev.backstop.worker.config;

import dev.backstop.kit.archive.ArchiveFormat;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/** Dump worker settings ({@code backstop.worker.*}). */
@Validated
@ConfigurationProperties("backstop.worker")
public class WorkerProperties {

  /** Scratch space for dumps and archives being packed; each job cleans its own folder. */
  @NotNull private Path workDirectory = Path.of(System.getProperty("java.io.tmpdir"), "backstop-worker");

  /** A dump running longer than this is killed and the backup fails with that reason. */
  @NotNull private Duration dumpTimeout = Duration.ofHours(6);

  /**
   * How long a request for an addon this worker has not heard of yet waits for its registration
   * (the addons topic and the requests topic are read independently) before it fails.
   */
  @NotNull private Duration addonWait = Duration.ofSeconds(30);

  /** Attempts of a dump whose failure is transient (server restarting, connection refused, recovery conflict), the first included. */
  @Min(1) private int dumpAttempts = 3;

  /** Wait before the second attempt; it doubles before each later one. */
  @NotNull private Duration retryBackoff = Duration.ofSeconds(30);

  /**
   * How long a job stays taken without a heartbeat. A worker that dies mid-dump loses the job to
   * another worker this long after its last heartbeat (plus Kafka's session timeout).
   */
  @NotNull private Duration leaseDuration = Duration.ofSeconds(30);

  /** How often a running job renews its lease and reports its progress ({@code BackupProgress}). */
  @NotNull private Duration heartbeatInterval = Duration.ofSeconds(5);

  /** A secondary further behind its primary than this is not dumped: the backup would miss recent writes. */
  @NotNull private Duration maxReplicationLag = Duration.ofMinutes(5);

  /**
   * Whether a Business addon whose secondaries all fail their checks is dumped on its primary (the
   * reason is recorded in the events) rather than failing: a backup on the primary beats none.
   */
  private boolean fallBackToPrimary = true;

  /** The {@code psql} executable, which asks PostgreSQL standbys how they are doing. */
  @NotBlank private String psql = "psql";

  /** The {@code mysql} client, which asks MySQL and MariaDB replicas how they are doing. */
  @NotBlank private String mysql = "mysql";

  public Duration getMaxReplicationLag() {
    return maxReplicationLag;
  }

  public void setMaxReplicationLag(Duration maxReplicationLag) {
    this.maxReplicationLag = maxReplicationLag;
  }

  public boolean isFallBackToPrimary() {
    return fallBackToPrimary;
  }

  public void setFallBackToPrimary(boolean fallBackToPrimary) {
    this.fallBackToPrimary = fallBackToPrimary;
  }

  public String getPsql() {
    return psql;
  }

  public void setPsql(String psql) {
    this.psql = psql;
  }

  public String getMysql() {
    return mysql;
  }

  public void setMysql(String mysql) {
    this.mysql = mysql;
  }

  /** Dumps this worker runs at once: the threads of its job runner. */
  @Min(1) private int concurrentDumps = 2;

  /**
   * How often an idle job runner looks for runnable jobs it was not woken for: backoffs that ended,
   * jobs of a worker that died (their lease ran out). A request this worker reads wakes it at once.
   */
  @NotNull private Duration pollInterval = Duration.ofMillis(500);

  /** How soon a job whose host has no free dump slot looks again; it waits in the queue, not on a thread. */
  @NotNull private Duration hostSlotRetry = Duration.ofSeconds(1);

  /** How long {@code pg_dump} waits for a server to answer its connection ({@code PGCONNECT_TIMEOUT}). */
  @NotNull private Duration connectTimeout = Duration.ofSeconds(15);

  public Duration getPollInterval() {
    return pollInterval;
  }

  public void setPollInterval(Duration pollInterval) {
    this.pollInterval = pollInterval;
  }

  public Duration getHostSlotRetry() {
    return hostSlotRetry;
  }

  public void setHostSlotRetry(Duration hostSlotRetry) {
    this.hostSlotRetry = hostSlotRetry;
  }

  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  public void setConnectTimeout(Duration connectTimeout) {
    this.connectTimeout = connectTimeout;
  }

  /** Dumps running at once against one database host, across all workers; more wait their turn. */
  @Min(1) private int dumpsPerHost = 2;

  /** How archives are compressed: {@code zstd} ({@code .tar.zst}, the default) or {@code gzip} ({@code .tar.gz}). */
  @NotNull private ArchiveFormat archiveFormat = ArchiveFormat.ZSTD;

  /** Compression level; unset means the format's default (zstd 1, gzip 6). */
  @Min(1) @Max(19) private Integer compressionLevel;

  /** Threads compressing one archive (zstd only). */
  @Min(1) private int compressionThreads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

  public Duration getLeaseDuration() {
    return leaseDuration;
  }

  public void setLeaseDuration(Duration leaseDuration) {
    this.leaseDuration = leaseDuration;
  }

  public Duration getHeartbeatInterval() {
    return heartbeatInterval;
  }

  public void setHeartbeatInterval(Duration heartbeatInterval) {
    this.heartbeatInterval = heartbeatInterval;
  }

  public int getConcurrentDumps() {
    return concurrentDumps;
  }

  public void setConcurrentDumps(int concurrentDumps) {
    this.concurrentDumps = concurrentDumps;
  }

  public int getDumpsPerHost() {
    return dumpsPerHost;
  }

  public void setDumpsPerHost(int dumpsPerHost) {
    this.dumpsPerHost = dumpsPerHost;
  }

  public ArchiveFormat getArchiveFormat() {
    return archiveFormat;
  }

  public void setArchiveFormat(ArchiveFormat archiveFormat) {
    this.archiveFormat = archiveFormat;
  }

  /** The configured level, or the format's default. */
  public int compressionLevel() {
    return compressionLevel != null ? compressionLevel : archiveFormat.defaultLevel();
  }

  public Integer getCompressionLevel() {
    return compressionLevel;
  }

  public void setCompressionLevel(Integer compressionLevel) {
    this.compressionLevel = compressionLevel;
  }

  public int getCompressionThreads() {
    return compressionThreads;
  }

  public void setCompressionThreads(int compressionThreads) {
    this.compressionThreads = compressionThreads;
  }

  public int getDumpAttempts() {
    return dumpAttempts;
  }

  public void setDumpAttempts(int dumpAttempts) {
    this.dumpAttempts = dumpAttempts;
  }

  public Duration getRetryBackoff() {
    return retryBackoff;
  }

  public void setRetryBackoff(Duration retryBackoff) {
    this.retryBackoff = retryBackoff;
  }

  /** The {@code pg_dump} executable; a bare name is looked up on PATH. */
  @NotBlank private String pgDump = "pg_dump";

  /** The {@code mysqldump} executable (MySQL's or MariaDB's); a bare name is looked up on PATH. */
  @NotBlank private String mysqldump = "mysqldump";

  public String getMysqldump() {
    return mysqldump;
  }

  public void setMysqldump(String mysqldump) {
    this.mysqldump = mysqldump;
  }

  /** This instance's name in events and job leases; defaults to host name and process id. */
  @NotBlank
  private String instanceName = ProcessHandle.current().pid() + "@" + hostName();

  public Path getWorkDirectory() {
    return workDirectory;
  }

  public void setWorkDirectory(Path workDirectory) {
    this.workDirectory = workDirectory;
  }

  public Duration getDumpTimeout() {
    return dumpTimeout;
  }

  public void setDumpTimeout(Duration dumpTimeout) {
    this.dumpTimeout = dumpTimeout;
  }

  public Duration getAddonWait() {
    return addonWait;
  }

  public void setAddonWait(Duration addonWait) {
    this.addonWait = addonWait;
  }

  public String getPgDump() {
    return pgDump;
  }

  public void setPgDump(String pgDump) {
    this.pgDump = pgDump;
  }

  public String getInstanceName() {
    return instanceName;
  }

  public void setInstanceName(String instanceName) {
    this.instanceName = instanceName;
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
