package dev.backstop.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * The tests' PostgreSQL driven through psql and pg_restore: throwaway databases with known rows, restores,
 * and row counts to compare. The server is the suite's own, started on a free port when this class is
 * first used, unless the environment names one ({@link SuiteServers}); superuser {@code postgres}, trust
 * authentication.
 */
public final class LocalPostgres {

  public static final String HOST;
  public static final int PORT;
  public static final String USER;

  static {
    SuiteServers.Server server = SuiteServers.postgres();
    HOST = server.host();
    PORT = server.port();
    USER = server.user();
  }

  private LocalPostgres() {}

  /** A new empty database with a unique name starting with {@code prefix}. */
  public static String createDatabase(String prefix) {
    String name = prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    psql("postgres", "CREATE DATABASE " + name);
    return name;
  }

  public static void dropDatabase(String name) {
    psql("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  /** Runs SQL, stops at the first error; returns what psql printed, unaligned and without headers. */
  public static String psql(String database, String sql) {
    return run(List.of("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", Integer.toString(PORT),
        "-U", USER, "-d", database, "-c", sql)).trim();
  }

  /** Restores a custom-format dump into {@code database} with stock pg_restore. */
  public static void restore(Path dump, String database) {
    run(List.of("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-h", HOST, "-p", Integer.toString(PORT),
        "-U", USER, "-d", database, dump.toString()));
  }

  /** Runs a command line tool; fails with its output unless it exits 0 (see {@link Commands}). */
  public static String run(List<String> command) {
    return Commands.run(command);
  }
}
