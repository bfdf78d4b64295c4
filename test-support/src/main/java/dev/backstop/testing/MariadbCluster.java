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
    try {
      Path dir = Files.createTempDirectory("backstop-mariadb");
      Files.writeString(dir.resolve("my.cnf"), String.join("\n",
          "[mariadbd]",
          "datadir=" + dir.resolve("data"),
          "port=" + port,
          "bind-address=127.0.0.1",
          "socket=" + dir.resolve("mysqld.sock"),
          "pid-file=" + dir.resolve("mysqld.pid"),
          "log-error=" + dir.resolve("error.log"),
          "server-id=" + serverId,
          "log-bin=" + dir.resolve("binlog"),
          "binlog-format=ROW",
          "gtid-strict-mode=1",
          "skip-name-resolve",
          "innodb-buffer-pool-size=32M",
          "innodb-log-file-size=16M",
          "") + "\n");
      if (ROOT) {
        LocalPostgres.run(List.of("chown", "-R", "mysql:mysql", dir.toString()));
      }
      List<String> install = new ArrayList<>(List.of("mariadb-install-db", "--defaults-file=" + dir.resolve("my.cnf"),
          "--auth-root-authentication-method=socket", "--skip-test-db"));
      if (ROOT) {
        install.add("--user=mysql");
      }
      LocalPostgres.run(install);
      MariadbCluster cluster = new MariadbCluster(dir, port);
      cluster.startServer();
      return cluster;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public int port() {
    return port;
  }

  /** Runs SQL as root through the socket; returns the rows, tab-separated, without headers. */
  public String sql(String sql) {
    return LocalPostgres.run(List.of("mariadb", "--socket=" + dir.resolve("mysqld.sock"), "-u", "root", "-N", "-B", "-e", sql)).trim();
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

  private void startServer() throws IOException {
    List<String> command = new ArrayList<>(List.of("mariadbd", "--defaults-file=" + dir.resolve("my.cnf")));
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
