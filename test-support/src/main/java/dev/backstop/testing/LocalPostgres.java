package dev.backstop.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The machine's PostgreSQL (127.0.0.1:5432, user postgres) driven through psql and pg_restore: throwaway
 * databases with known rows, restores, and row counts to compare.
 */
public final class LocalPostgres {

  public static final String HOST = System.getenv().getOrDefault("BACKSTOP_TEST_PGHOST", "127.0.0.1");
  public static final int PORT = Integer.parseInt(System.getenv().getOrDefault("BACKSTOP_TEST_PGPORT", "5432"));
  public static final String USER = System.getenv().getOrDefault("BACKSTOP_TEST_PGUSER", "postgres");

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

  public static String run(List<String> command) {
    try {
      Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
        throw new IllegalStateException(command.get(0) + " failed: " + new String(out, StandardCharsets.UTF_8));
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(command.get(0) + " could not run", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
