package dev.backstop.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The tests' MariaDB driven through the mysql client: the suite's own server, started on a free port when
 * this class is first used, unless the environment names one ({@link SuiteServers}); {@code root} without
 * a password.
 */
public final class LocalMariadb {

  public static final String HOST;
  public static final int PORT;
  public static final String USER;

  static {
    SuiteServers.Server server = SuiteServers.mariadb();
    HOST = server.host();
    PORT = server.port();
    USER = server.user();
  }

  private LocalMariadb() {}

  public static String createDatabase(String prefix) {
    String name = prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    sql(null, "CREATE DATABASE " + name);
    return name;
  }

  public static void dropDatabase(String name) {
    sql(null, "DROP DATABASE IF EXISTS " + name);
  }

  /** Runs SQL; returns what the client printed, tab-separated and without column names. */
  public static String sql(String database, String sql) {
    var command = new java.util.ArrayList<>(List.of("mysql", "--protocol=TCP", "-h", HOST, "-P", Integer.toString(PORT),
        "-u", USER, "-N", "-B", "-e", sql));
    if (database != null) {
      command.add(database);
    }
    return Commands.run(command).trim();
  }

  /**
   * Holds {@code LOCK TABLES <table> WRITE} in a client session of its own until closed: a dump then
   * stops at that table, having written the tables before it, and stays running for as long as needed.
   */
  public static AutoCloseable holdWriteLock(String database, String table) throws IOException, InterruptedException {
    // --unbuffered: the client's output to a pipe would otherwise wait for its exit
    Process session = new ProcessBuilder("mysql", "--protocol=TCP", "-h", HOST, "-P", Integer.toString(PORT), "-u", USER,
        "-N", "-B", "--unbuffered", database).redirectErrorStream(true).start();
    var sql = session.getOutputStream();
    sql.write(("LOCK TABLES " + table + " WRITE; SELECT 'locked';\n").getBytes(StandardCharsets.UTF_8));
    sql.flush();
    var out = new java.io.BufferedReader(new java.io.InputStreamReader(session.getInputStream(), StandardCharsets.UTF_8));
    var line = new java.util.concurrent.FutureTask<>(out::readLine);
    Thread.ofVirtual().start(line);
    String first;
    try {
      first = line.get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      first = "no answer: " + e;
    }
    if (!"locked".equals(first)) {
      session.destroyForcibly();
      throw new IllegalStateException("could not lock " + table + ": " + first);
    }
    return () -> {
      sql.write("UNLOCK TABLES;\n".getBytes(StandardCharsets.UTF_8));
      sql.close();
      if (!session.waitFor(30, TimeUnit.SECONDS)) {
        session.destroyForcibly();
      }
    };
  }

  /** Loads a SQL dump into {@code database} with the stock client. */
  public static void restore(Path dump, String database) {
    try {
      Process process = new ProcessBuilder("mysql", "--protocol=TCP", "-h", HOST, "-P", Integer.toString(PORT), "-u", USER, database)
          .redirectInput(dump.toFile()).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
        throw new IllegalStateException("mysql restore failed: " + out);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
