package dev.backstop.worker.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Restore verification ({@code backstop.verifier.*}): every completed backup is restored into a
 * scratch database on servers Backstop owns, never the customer's.
 */
@Validated
@ConfigurationProperties("backstop.verifier")
public class VerifierProperties {

  /** Whether this worker verifies backups; off, backups stay listed as not verified yet. */
  private boolean enabled = true;

  /**
   * Backups completed longer ago than this are not verified: a verifier started on a long history (a
   * new deployment, a replay) restores the recent ones instead of queueing a year of restores.
   */
  @NotNull private Duration maxAge = Duration.ofDays(2);

  /** A restore running longer than this is stopped and the backup does not pass. */
  @NotNull private Duration restoreTimeout = Duration.ofHours(6);

  /** Prefix of the scratch databases, followed by a hash of the backup id; a leftover one is replaced by the next attempt. */
  @NotBlank @Pattern(regexp = "[a-z_][a-z0-9_]{0,30}") private String databasePrefix = "backstop_verify_";

  /** The PostgreSQL server restores go to; its version should be at least the customers'. */
  @Valid @NotNull private Server postgresql = new Server("127.0.0.1", 5432, "postgres", "postgres");

  /** The MySQL or MariaDB server restores go to. */
  @Valid @NotNull private Server mysql = new Server("127.0.0.1", 3306, "root", null);

  /**
   * Whether restore tests may run on a scratch server that holds databases other than its own system
   * ones and the scratch ones ({@link #databasePrefix}). Off: such a server is taken for a customer's or a
   * shared one, and no restore test runs there (an ERROR says so). On for development machines and the
   * test suite only, whose local servers hold other databases; logged as a WARN.
   */
  private boolean allowSharedServer;

  public boolean isAllowSharedServer() {
    return allowSharedServer;
  }

  public void setAllowSharedServer(boolean allowSharedServer) {
    this.allowSharedServer = allowSharedServer;
  }

  /** The {@code pg_restore} executable. */
  @NotBlank private String pgRestore = "pg_restore";

  /** Restore tests this worker runs at once: the threads of its restore-test runner. */
  @Min(1) private int concurrentRestores = 1;

  /**
   * Attempts of a test stopped by the verifier's own trouble (scratch server or store unreachable,
   * addon not in the catalog yet), the first included; after the last, the backup stays not verified
   * until its completion is replayed. With the backoffs below, 8 attempts span about 20 minutes.
   */
  @Min(1) private int attempts = 8;

  /** Wait before the second attempt; it doubles before each later one, up to {@code max-retry-backoff}. */
  @NotNull private Duration retryBackoff = Duration.ofSeconds(10);

  /** The longest wait between two attempts. */
  @NotNull private Duration maxRetryBackoff = Duration.ofMinutes(10);

  public int getAttempts() {
    return attempts;
  }

  public void setAttempts(int attempts) {
    this.attempts = attempts;
  }

  public Duration getRetryBackoff() {
    return retryBackoff;
  }

  public void setRetryBackoff(Duration retryBackoff) {
    this.retryBackoff = retryBackoff;
  }

  public Duration getMaxRetryBackoff() {
    return maxRetryBackoff;
  }

  public void setMaxRetryBackoff(Duration maxRetryBackoff) {
    this.maxRetryBackoff = maxRetryBackoff;
  }

  public int getConcurrentRestores() {
    return concurrentRestores;
  }

  public void setConcurrentRestores(int concurrentRestores) {
    this.concurrentRestores = concurrentRestores;
  }

  /** A scratch server: a user that may create and drop databases. */
  public static class Server {

    /** Host name or address. */
    @NotBlank private String host;

    /** TCP port. */
    @Min(1) @Max(65535) private int port;

    /**
     * User that creates and drops the scratch databases; on PostgreSQL also the role each test restores as
     * (it needs {@code CREATEDB} and {@code CREATEROLE}, not superuser); on MySQL it creates each test's own user
     * (it needs {@code CREATE USER} and the right to grant privileges on the scratch databases).
     */
    @NotBlank private String user;

    /** That user's password (from the environment or a secret store, not a file in the repository); empty for none. */
    private String password = "";

    /** For PostgreSQL, the database to connect to while creating and dropping the scratch ones. */
    private String maintenanceDatabase;

    public Server() {}

    Server(String host, int port, String user, String maintenanceDatabase) {
      this.host = host;
      this.port = port;
      this.user = user;
      this.maintenanceDatabase = maintenanceDatabase;
    }

    public String getHost() {
      return host;
    }

    public void setHost(String host) {
      this.host = host;
    }

    public int getPort() {
      return port;
    }

    public void setPort(int port) {
      this.port = port;
    }

    public String getUser() {
      return user;
    }

    public void setUser(String user) {
      this.user = user;
    }

    public String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password == null ? "" : password;
    }

    public String getMaintenanceDatabase() {
      return maintenanceDatabase;
    }

    public void setMaintenanceDatabase(String maintenanceDatabase) {
      this.maintenanceDatabase = maintenanceDatabase;
    }

    @Override
    public String toString() {
      return user + "@" + host + ":" + port;
    }
  }

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Duration getMaxAge() {
    return maxAge;
  }

  public void setMaxAge(Duration maxAge) {
    this.maxAge = maxAge;
  }

  public Duration getRestoreTimeout() {
    return restoreTimeout;
  }

  public void setRestoreTimeout(Duration restoreTimeout) {
    this.restoreTimeout = restoreTimeout;
  }

  public String getDatabasePrefix() {
    return databasePrefix;
  }

  public void setDatabasePrefix(String databasePrefix) {
    this.databasePrefix = databasePrefix;
  }

  public Server getPostgresql() {
    return postgresql;
  }

  public void setPostgresql(Server postgresql) {
    this.postgresql = postgresql;
  }

  public Server getMysql() {
    return mysql;
  }

  public void setMysql(Server mysql) {
    this.mysql = mysql;
  }

  public String getPgRestore() {
    return pgRestore;
  }

  public void setPgRestore(String pgRestore) {
    this.pgRestore = pgRestore;
  }
}
