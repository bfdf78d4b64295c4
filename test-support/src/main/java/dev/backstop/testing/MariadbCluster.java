package dev.backstop.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway MariaDB server of the machine's own binaries on a port of the test's choosing, with
 * binary logs and GTIDs, for tests that need a primary and a replica. Started as root it runs as the
 * {@code mysql} user; root connects through the server's own socket without a password.
 */
public final class MariadbCluster implements AutoCloseable {

  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private final Path dir;
  private final int port;
  private Process server;

  private MariadbCluster(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** A new server, started, with {@code serverId} (unique among its replication partners). */
  public static MariadbCluster start(int port, int serverId) {
    return create(port, dir -> List.of(
        "server-id=" + serverId,
        "log-bin=" + dir.resolve("binlog"),
        "binlog-format=ROW",
        "gtid-strict-mode=1"));
  }

  /**
   * A new server, started, set up like Debian's own ({@code utf8mb4}, no binary log, so that creating
   * triggers and functions needs no extra privilege), for tests that need any MariaDB: the suite's own
   * server ({@link SuiteServers}). If it does not start (its port taken meanwhile), its files are
   * deleted before the failure is thrown.
   */
  public static MariadbCluster standalone(int port) {
    return create(port, dir -> List.of("character-set-server=utf8mb4", "collation-server=utf8mb4_general_ci"));
  }

  private static MariadbCluster create(int port, java.util.function.Function<Path, List<String>> settings) {
    Path dir;
    try {
      dir = Files.createTempDirectory("backstop-mariadb");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    MariadbCluster cluster = new MariadbCluster(dir, port);
    try {
      List<String> lines = new ArrayList<>(List.of(
          "[mariadbd]",
          "datadir=" + dir.resolve("data"),
          "port=" + port,
          "bind-address=127.0.0.1",
          "socket=" + dir.resolve("mysqld.sock"),
          "pid-file=" + dir.resolve("mysqld.pid"),
          "log-error=" + dir.resolve("error.log"),
          "skip-name-resolve",
          "innodb-buffer-pool-size=32M",
          "innodb-log-file-size=16M"));
      lines.addAll(settings.apply(dir));
      Files.writeString(dir.resolve("my.cnf"), String.join("\n", lines) + "\n");
      if (ROOT) {
        Commands.run(List.of("chown", "-R", "mysql:mysql", dir.toString()));
      }
      List<String> install = new ArrayList<>(List.of("mariadb-install-db", "--defaults-file=" + dir.resolve("my.cnf"),
          "--auth-root-authentication-method=socket", "--skip-test-db"));
      if (ROOT) {
        install.add("--user=mysql");
      }
      Commands.run(install);
      cluster.startServer();
      return cluster;
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
  }

  /** Where its data, socket and logs live. */
  public Path directory() {
    return dir;
  }

  /** Stops the server a killed test run left running in {@code dir}, if any, and deletes its files. */
  static void reclaim(Path dir) {
    try {
      long pid = Long.parseLong(Files.readString(dir.resolve("mysqld.pid")).trim());
      // a throwaway: no clean shutdown needed; the pid must still be that server, not a reused number
      ProcessHandle.of(pid).filter(p -> p.info().command().map(c -> c.endsWith("mariadbd") || c.endsWith("mysqld")).orElse(false))
          .ifPresent(p -> {
            p.destroyForcibly();
            p.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> p).join();
          });
    } catch (IOException | NumberFormatException noServer) {
      // nothing running there
    }
    new MariadbCluster(dir, 0).close();
  }

  public int port() {
    return port;
  }

  /** Runs SQL as root through the socket; returns the rows, tab-separated, without headers. */
  public String sql(String sql) {
    return Commands.run(List.of("mariadb", "--socket=" + dir.resolve("mysqld.sock"), "-u", "root", "-N", "-B", "-e", sql)).trim();
  }

  /** Makes this server a GTID replica of {@code primary}, replicating as {@code user}. */
  public void replicate(MariadbCluster primary, String user, String password) {
    sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + primary.port + ", MASTER_USER='" + user
        + "', MASTER_PASSWORD='" + password + "', MASTER_USE_GTID=slave_pos; START SLAVE");
  }

  @Override
  public void close() {
    if (server != null) {
      server.destroy();
      try {
        if (!server.waitFor(30, TimeUnit.SECONDS)) {
          server.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory: the machine cleans it eventually
    }
  }

  /** mariadbd lives in /usr/sbin, which is not on a user's PATH on Debian. */
  private static String serverBinary() {
    for (String candidate : List.of("/usr/sbin/mariadbd", "/usr/sbin/mysqld")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    return "mariadbd";
  }

  private void startServer() throws IOException {
    List<String> command = new ArrayList<>(List.of(serverBinary(), "--defaults-file=" + dir.resolve("my.cnf")));
    if (ROOT) {
      command.add("--user=mysql");
    }
    server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("server.out").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        sql("SELECT 1");
        return;
      } catch (IllegalStateException notYet) {
        if (!server.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("mariadbd did not start: " + Files.readString(dir.resolve("error.log")));
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
    }
  }
}
