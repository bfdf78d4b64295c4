package dev.backstop.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * The PostgreSQL and MariaDB servers tests use through {@link LocalPostgres} and {@link LocalMariadb}.
 *
 * <p>Unless the environment names a server ({@code BACKSTOP_TEST_PGHOST}/{@code _PGPORT}/{@code _PGUSER},
 * {@code BACKSTOP_TEST_MYHOST}/{@code _MYPORT}/{@code _MYUSER}), each is a throwaway server of this JVM's
 * own, from the machine's server binaries, on a free port of 127.0.0.1: started when a test first needs
 * it (about 2 s), shared by every test of the JVM, stopped and deleted when the JVM exits. The suite thus
 * never touches, or depends on, servers the machine runs for other purposes, and two suites run side by
 * side. Each server's directory names the JVM that owns it; a run killed before it could clean up leaves
 * its servers running, and the next JVM that starts one stops them and deletes their files.
 */
public final class SuiteServers {

  /** Where tests reach a server, and as whom (trust authentication: no password). */
  public record Server(String host, int port, String user, boolean own) {}

  static final String OWNER_FILE = "suite-owner";
  private static final int ATTEMPTS = 3;

  private static final List<AutoCloseable> STARTED = new ArrayList<>();
  private static Server postgres;
  private static Server mariadb;
  private static boolean swept;

  private SuiteServers() {}

  /** The PostgreSQL tests use: superuser {@code postgres}, trust authentication on 127.0.0.1. */
  public static synchronized Server postgres() {
    if (postgres == null) {
      postgres = named("BACKSTOP_TEST_PGHOST", "BACKSTOP_TEST_PGPORT", "BACKSTOP_TEST_PGUSER", 5432, "postgres")
          .orElseGet(() -> {
            PostgresCluster cluster = start("PostgreSQL", "postgresql", "BACKSTOP_TEST_PGHOST and BACKSTOP_TEST_PGPORT",
                PostgresCluster::standalone);
            mark(cluster.directory());
            return new Server("127.0.0.1", cluster.port(), "postgres", true);
          });
    }
    return postgres;
  }

  /** The MariaDB tests use: {@code root} without a password over TCP from 127.0.0.1. */
  public static synchronized Server mariadb() {
    if (mariadb == null) {
      mariadb = named("BACKSTOP_TEST_MYHOST", "BACKSTOP_TEST_MYPORT", "BACKSTOP_TEST_MYUSER", 3306, "root")
          .orElseGet(() -> {
            MariadbCluster cluster = start("MariaDB", "mariadb-server", "BACKSTOP_TEST_MYHOST and BACKSTOP_TEST_MYPORT",
                MariadbCluster::standalone);
            mark(cluster.directory());
            // the installer gives root the server's socket only; the tests and the code under test come over TCP
            cluster.sql("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
                + "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
            return new Server("127.0.0.1", cluster.port(), "root", true);
          });
    }
    return mariadb;
  }

  private static Optional<Server> named(String hostVariable, String portVariable, String userVariable, int defaultPort,
      String defaultUser) {
    String host = System.getenv(hostVariable);
    String port = System.getenv(portVariable);
    if (blank(host) && blank(port)) {
      return Optional.empty();
    }
    String user = System.getenv(userVariable);
    return Optional.of(new Server(blank(host) ? "127.0.0.1" : host, blank(port) ? defaultPort : Integer.parseInt(port),
        blank(user) ? defaultUser : user, false));
  }

  private static <T extends AutoCloseable> T start(String name, String debianPackage, String variables, IntFunction<T> server) {
    if (!swept) {
      swept = true;
      reclaimLeftovers(Path.of(System.getProperty("java.io.tmpdir")));
    }
    RuntimeException last = null;
    // a free port can be taken between looking and binding: another one then
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        T started = server.apply(freePort());
        if (STARTED.isEmpty()) {
          Runtime.getRuntime().addShutdownHook(new Thread(SuiteServers::stopAll, "suite-servers-stop"));
        }
        STARTED.add(started);
        return started;
      } catch (RuntimeException e) {
        last = e;
      }
    }
    throw new IllegalStateException("could not start a " + name + " server of the test suite's own from the machine's "
        + "server binaries: install the Debian package " + debianPackage + " (./dev test does), or name a server "
        + "for the tests in " + variables + ". Cause: " + last.getMessage(), last);
  }

  private static synchronized void stopAll() {
    for (AutoCloseable server : STARTED.reversed()) {
      try {
        server.close();
      } catch (Exception e) {
        System.err.println("a test server did not stop: " + e);
      }
    }
  }

  /** Writes which JVM owns the server in {@code dir}, so that a later run can tell a leftover. */
  private static void mark(Path dir) {
    ProcessHandle self = ProcessHandle.current();
    try {
      Files.writeString(dir.resolve(OWNER_FILE), self.pid() + " " + startMillis(self).orElse(0L) + "\n");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Stops and deletes the servers under {@code tmp} whose owning JVM is gone (a run killed with SIGKILL,
   * or one whose shutdown hook was cut short). Servers of live JVMs, and directories not marked by this
   * class (a {@code ReplicaIT} cluster), are left alone.
   */
  static void reclaimLeftovers(Path tmp) {
    try (Stream<Path> entries = Files.list(tmp)) {
      for (Path dir : entries.toList()) {
        String name = dir.getFileName().toString();
        boolean pg = name.startsWith("backstop-pg");
        boolean my = name.startsWith("backstop-mariadb");
        if ((pg || my) && isLeftover(dir.resolve(OWNER_FILE))) {
          if (pg) {
            PostgresCluster.reclaim(dir);
          } else {
            MariadbCluster.reclaim(dir);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // another user's directory, or one another JVM reclaims at the same time: not this run's business
      System.err.println("leftover test servers not reclaimed: " + e);
    }
  }

  private static boolean isLeftover(Path ownerFile) {
    long pid;
    long started;
    try {
      if (!Files.isRegularFile(ownerFile)) {
        return false;
      }
      String[] owner = Files.readString(ownerFile).trim().split(" ");
      pid = Long.parseLong(owner[0]);
      started = Long.parseLong(owner[1]);
    } catch (IOException | RuntimeException unreadable) {
      return false;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid);
    if (process.isEmpty()) {
      return true;
    }
    // the same pid with another start time is a new process that reuses the number
    return started != 0 && startMillis(process.get()).map(millis -> Math.abs(millis - started) > 2_000).orElse(false);
  }

  private static Optional<Long> startMillis(ProcessHandle process) {
    return process.info().startInstant().map(Instant::toEpochMilli);
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }
}
