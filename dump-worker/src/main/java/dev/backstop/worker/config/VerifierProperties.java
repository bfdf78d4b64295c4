package dev.backstop.worker.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Restore verification ({@code backstop.verifier.*}): every completed backup is restored into a
 * scratch database on servers Backstop owns, never the customer's. Bound once through the
 * constructor; each default is written here only.
 *
 * @param enabled whether this worker verifies backups; off, backups stay listed as not verified yet
 * @param maxAge backups completed longer ago than this are not verified: a verifier started on a long history (a
 *     new deployment, a replay) restores the recent ones instead of queueing a year of restores
 * @param restoreTimeout a restore running longer than this is stopped and the backup does not pass
 * @param databasePrefix prefix of the scratch databases, followed by a hash of the backup id; a leftover one is
 *     replaced by the next attempt
 * @param postgresql the PostgreSQL server restores go to; its version should be at least the customers'
 *     (default {@code postgres@127.0.0.1:5432}, maintenance database {@code postgres})
 * @param mysql the MySQL or MariaDB server restores go to (default {@code root@127.0.0.1:3306})
 * @param allowSharedServer whether restore tests may run on a scratch server that holds databases other than its
 *     own system ones and the scratch ones ({@code database-prefix}). Off: such a server is taken for a customer's
 *     or a shared one, and no restore test runs there (an ERROR says so). On for development machines and the
 *     test suite only, whose local servers hold other databases; logged as a WARN
 * @param pgRestore the {@code pg_restore} executable
 * @param concurrentRestores restore tests this worker runs at once: the threads of its restore-test runner
 * @param attempts attempts of a test stopped by the verifier's own trouble (scratch server or store unreachable,
 *     addon not in the catalog yet), the first included; after the last, the backup stays not verified until its
 *     completion is replayed. With the backoffs below, 8 attempts span about 20 minutes
 * @param retryBackoff wait before the second attempt; it doubles before each later one, up to {@code max-retry-backoff}
 * @param maxRetryBackoff the longest wait between two attempts
 * @param pgRestoreJobs connections of a PostgreSQL restore test: each table's rows are dealt out to that many
 *     {@code psql} clients as the dump is read, and {@code pg_restore --jobs} builds the indexes with as many; 1
 *     streams the dump through one {@code pg_restore}
 * @param spoolMinFreeSpace free space the work directory keeps while a PostgreSQL dump that needs it (large objects)
 *     is spooled for {@code pg-restore-jobs}:
 *     a dump that would leave less is streamed through a pipe instead (one job)
 * @param restoreMaintenanceWorkMem {@code maintenance_work_mem} of each PostgreSQL restore connection (index builds),
 *     set for the session as any role may; the scratch server needs it times {@code pg-restore-jobs} of memory to spare
 * @param mysqlConnections {@code mysql} clients of a MySQL or MariaDB restore test: 2 splits each table's rows between
 *     two (the rest of the dump on the first, in its order), 1 loads the dump through one, as customers do
 */
@Validated
@ConfigurationProperties("backstop.verifier")
public record VerifierProperties(
    @DefaultValue("true") boolean enabled,
    @NotNull @DefaultValue("2d") Duration maxAge,
    @NotNull @DefaultValue("6h") Duration restoreTimeout,
    @NotBlank @Pattern(regexp = "[a-z_][a-z0-9_]{0,30}") @DefaultValue("backstop_verify_") String databasePrefix,
    @Valid @NotNull Server postgresql,
    @Valid @NotNull Server mysql,
    @DefaultValue("false") boolean allowSharedServer,
    @NotBlank @DefaultValue("pg_restore") String pgRestore,
    @Min(1) @DefaultValue("1") int concurrentRestores,
    @Min(1) @DefaultValue("8") int attempts,
    @NotNull @DefaultValue("10s") Duration retryBackoff,
    @NotNull @DefaultValue("10m") Duration maxRetryBackoff,
    @Min(1) @Max(32) @DefaultValue("2") int pgRestoreJobs,
    @NotNull @DefaultValue("1GB") DataSize spoolMinFreeSpace,
    @NotNull @DefaultValue("256MB") DataSize restoreMaintenanceWorkMem,
    @Min(1) @Max(2) @DefaultValue("2") int mysqlConnections) {

  private static final Server POSTGRESQL = new Server("127.0.0.1", 5432, "postgres", "", "postgres");
  private static final Server MYSQL = new Server("127.0.0.1", 3306, "root", "", null);

  /** A scratch server given in part (say, only its password) keeps its engine's defaults for the rest. */
  public VerifierProperties {
    postgresql = Server.over(postgresql, POSTGRESQL);
    mysql = Server.over(mysql, MYSQL);
  }

  /**
   * The settings {@code settings} gives (keys as in {@code backstop.verifier.*}, e.g. {@code allow-shared-server}),
   * every other one at its default: what Spring binds, for tests and tools.
   */
  public static VerifierProperties bind(Map<String, ?> settings) {
    return Settings.bind("backstop.verifier", settings, VerifierProperties.class);
  }

  /**
   * A scratch server: a user that may create and drop databases.
   *
   * @param host host name or address
   * @param port TCP port
   * @param user user that creates and drops the scratch databases; on PostgreSQL also the role each test restores
   *     as (it needs {@code CREATEDB} and {@code CREATEROLE}, not superuser); on MySQL it creates each test's own
   *     user (it needs {@code CREATE USER} and the right to grant privileges on the scratch databases)
   * @param password that user's password (from the environment or a secret store, not a file in the repository);
   *     empty for none
   * @param maintenanceDatabase for PostgreSQL, the database to connect to while creating and dropping the scratch ones
   */
  public record Server(
      // not @NotBlank: Spring validates this record as bound, before the defaults fill in what was not given
      // (a null); a value given blank is refused
      @Pattern(regexp = ".*\\S.*", message = "must not be blank") String host,
      @Min(1) @Max(65535) Integer port,
      @Pattern(regexp = ".*\\S.*", message = "must not be blank") String user,
      String password,
      String maintenanceDatabase) {

    static Server over(Server given, Server defaults) {
      if (given == null) {
        return defaults;
      }
      return new Server(given.host != null ? given.host : defaults.host, given.port != null ? given.port : defaults.port,
          given.user != null ? given.user : defaults.user, given.password != null ? given.password : defaults.password,
          given.maintenanceDatabase != null ? given.maintenanceDatabase : defaults.maintenanceDatabase);
    }

    @Override
    public String toString() {
      return user + "@" + host + ":" + port;
    }
  }
}
