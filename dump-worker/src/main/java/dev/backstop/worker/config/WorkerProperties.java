package dev.backstop.worker.config;

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
  @jakarta.validation.constraints.Min(1) private int dumpAttempts = 3;

  /** Wait before the second attempt; it doubles before each later one. */
  @NotNull private Duration retryBackoff = Duration.ofSeconds(30);

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
