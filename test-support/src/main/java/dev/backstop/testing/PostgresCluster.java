package dev.backstop.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster of the machine's own server binaries on a port of the test's choosing,
 * for tests that need a primary and a streaming replica. PostgreSQL refuses to run as root: when the
 * tests do, the server runs as the {@code postgres} user. Trust authentication on 127.0.0.1.
 */
public final class PostgresCluster implements AutoCloseable {

  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private final Path dir;
  private final int port;

  private PostgresCluster(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** A new cluster, started, ready to be a primary (WAL for streaming replicas, hot standby allowed). */
  public static PostgresCluster primary(int port) {
    Path dir = newDirectory();
    asServerUser(List.of(bin("initdb"), "-D", dir.resolve("data").toString(), "--auth=trust", "--no-sync", "-U", "postgres"), dir);
    PostgresCluster cluster = new PostgresCluster(dir, port);
    cluster.start();
    return cluster;
  }

  /**
   * A new cluster, started, set up like the machine's own Debian server (UTF-8, {@code C.UTF-8}) so that
   * tests see no difference: the suite's own server ({@link SuiteServers}). If it does not start (its
   * port taken meanwhile), its files are deleted before the failure is thrown.
   */
  public static PostgresCluster standalone(int port) {
    Path dir = newDirectory();
    PostgresCluster cluster = new PostgresCluster(dir, port);
    try {
      asServerUser(List.of(bin("initdb"), "-D", dir.resolve("data").toString(), "--auth=trust", "--no-sync", "-U", "postgres",
          "--encoding=UTF8", "--locale=C.UTF-8"), dir);
      cluster.start();
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** Where its data, socket and log live. */
  public Path directory() {
    return dir;
  }

  /** Stops the server a killed test run left running in {@code dir}, if any, and deletes its files. */
  static void reclaim(Path dir) {
    new PostgresCluster(dir, 0).close();
  }

  /** A streaming replica of this cluster ({@code pg_basebackup -R}), started, with {@code settings} (name=value) added. */
  public PostgresCluster replica(int replicaPort, String... settings) {
    Path replicaDir = newDirectory();
    asServerUser(List.of(bin("pg_basebackup"), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres",
        "-D", replicaDir.resolve("data").toString(), "-R", "-X", "stream", "-c", "fast"), replicaDir);
    PostgresCluster replica = new PostgresCluster(replicaDir, replicaPort);
    try {
      // appending keeps the file's owner, so this works as root too
      Files.writeString(replicaDir.resolve("data/postgresql.auto.conf"), String.join("\n", settings) + "\n",
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    replica.start();
    return replica;
  }

  /**
   * From now on, roles other than {@code postgres} must give their password over TCP (SCRAM), so that a
   * test can prove a password reached the server intact: the machine's own server trusts everyone.
   */
  public PostgresCluster requirePasswords() {
    try {
      // rewriting in place keeps the file's owner, so this works as root too
      Files.writeString(dir.resolve("data/pg_hba.conf"), "local all all trust\n"
          + "host all postgres 127.0.0.1/32 trust\n"
          + "host all all 127.0.0.1/32 scram-sha-256\n", java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    psql("postgres", "select pg_reload_conf()");
    // the postmaster applies the reload on its own time: wait until a password is asked for
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      try {
        Process probe = new ProcessBuilder("psql", "-X", "-w", "-h", "127.0.0.1", "-p", Integer.toString(port), "-U",
            "backstop_probe", "-d", "postgres", "-c", "select 1").redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes());
        probe.waitFor();
        if (out.contains("no password supplied") || out.contains("password authentication failed")) {
          return this;
        }
        Thread.sleep(50);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new IllegalStateException("the cluster did not start asking for passwords");
  }

  public int port() {
    return port;
  }

  /** Runs SQL as postgres in {@code database}; returns what psql printed, unaligned and without headers. */
  public String psql(String database, String sql) {
    return Commands.run(List.of("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
        "-p", Integer.toString(port), "-U", "postgres", "-d", database, "-c", sql)).trim();
  }

  public void start() {
    asServerUser(List.of(bin("pg_ctl"), "-D", dir.resolve("data").toString(), "-l", dir.resolve("server.log").toString(), "-w",
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c wal_level=replica -c fsync=off", "start"), dir);
  }

  public void stop() {
    asServerUser(List.of(bin("pg_ctl"), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w", "stop"), dir);
  }

  /** Stops the server if it runs and deletes its files. */
  @Override
  public void close() {
    try {
      stop();
    } catch (IllegalStateException alreadyStopped) {
      // nothing to stop
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory: the machine cleans it eventually
    }
  }

  private static Path newDirectory() {
    try {
      Path dir = Files.createTempDirectory("backstop-pg");
      if (ROOT) {
        Commands.run(List.of("chown", "postgres:postgres", dir.toString()));
      }
      return dir;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void asServerUser(List<String> command, Path workingDirectory) {
    List<String> full = new ArrayList<>();
    if (ROOT) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    try {
      Process process = new ProcessBuilder(full).directory(workingDirectory.toFile()).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes());
      if (process.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", command.subList(0, 1)) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new IllegalStateException(command.get(0) + " could not run", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The server's own binaries: initdb and pg_ctl are not on PATH on Debian, and pg_config comes with a
   * development package. The newest {@code /usr/lib/postgresql/<major>/bin}, as Debian's client wrappers
   * pick, else what pg_config says, else PATH.
   */
  private static String bin(String tool) {
    return BinDir.PATH == null ? tool : Path.of(BinDir.PATH, tool).toString();
  }

  /** Looked up once, when first needed. */
  private static final class BinDir {
    static final String PATH = find();

    private static String find() {
      try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
        var newest = versions.filter(v -> v.getFileName().toString().matches("\\d+") && Files.isExecutable(v.resolve("bin/initdb")))
            .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())));
        if (newest.isPresent()) {
          return newest.get().resolve("bin").toString();
        }
      } catch (IOException notDebian) {
        // fall through
      }
      try {
        return Commands.run(List.of("pg_config", "--bindir")).trim();
      } catch (IllegalStateException noPgConfig) {
        return null;
      }
    }
  }
}
