package dev.backstop.worker.pitr;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway PostgreSQL server recovering a base backup in a scratch folder of its own
 * (docs/pitr-design.md §7.2): never listening on TCP ({@code listen_addresses=''}, its socket in the
 * folder), run by an unprivileged user when the worker is root (PostgreSQL refuses root), with settings of
 * Backstop's own (the base's {@code postgresql.auto.conf} and {@code pg_hba.conf} are not used) and nothing
 * durable (fsync off). {@link #close} stops it at once and deletes the folder.
 *
 * <pre>
 * &lt;root&gt;/data            the data directory (0700, owned by the run user)
 * &lt;root&gt;/s               its socket
 * &lt;root&gt;/wal/requests    names restore_command asks for, one file per call (see {@link WalPrefetcher})
 * &lt;root&gt;/wal/taken       names restore_command took from ready/ without asking
 * &lt;root&gt;/wal/ready       files answered, moved into pg_wal by restore_command
 * &lt;root&gt;/wal/ahead       segments fetched ahead of replay
 * &lt;root&gt;/postgresql.conf, pg_hba.conf, pg_ident.conf, fetch.sh, server.log
 * </pre>
 */
public final class ScratchServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ScratchServer.class);

  /** Paths go into a conf string and a shell command: only these characters, so that nothing needs quoting. */
  private static final Pattern SAFE_PATH = Pattern.compile("[A-Za-z0-9/._-]+");

  /**
   * What restore_command does: takes a file the restore job fetched ahead at once (and says so under {@code
   * taken/}), else asks for it under a name of this call's own ({@code requests/<file>.<pid>}: an earlier ask of
   * the same file, already answered, must not stand for this one) and waits for the answer within {@code wait}
   * or aborts recovery (exit 126).
   */
  private static final String FETCH_SH = """
      #!/bin/sh
      # restore_command of a Backstop point-in-time restore: %%f, fetched ahead by the restore job or asked for
      d='%s'
      # a WAL file's name only (the job answers no other): nothing else becomes a path or a request
      case "$1" in ''|.*|-*|*[!0-9A-Za-z._-]*) exit 126;; esac
      [ ${#1} -le 64 ] || exit 126
      if [ -e "$d/ready/$1" ] && mv -f "$d/ready/$1" "$2" 2>/dev/null; then : > "$d/taken/$1"; exit 0; fi
      r="$d/requests/$1.$$"
      : > "$r" || exit 126
      i=0
      while [ $i -lt %d ]; do
        if [ -e "$d/ready/$1" ] && mv -f "$d/ready/$1" "$2" 2>/dev/null; then rm -f "$r"; exit 0; fi
        if [ -e "$d/ready/$1.missing" ]; then rm -f "$d/ready/$1.missing" "$r"; exit 1; fi
        if [ -e "$d/ready/$1.failed" ]; then rm -f "$r"; exit 126; fi
        sleep 0.02
        i=$((i+1))
      done
      rm -f "$r"
      exit 126
      """;

  /** Why the server stopped, when it is not running. */
  public enum Outcome { RUNNING, PROMOTED, TARGET_NOT_REACHED, FAILED }

  /** What {@code pg_controldata} says about the base. */
  public record Control(long systemId, long segmentSize, Map<String, Integer> settings) {}

  private final Path root;
  private final String runAs;
  private Path binaries;
  private Process server;

  /**
   * @param root the scratch folder (created; deleted by {@link #close})
   * @param runAs the user the server runs as; null runs it as this process's user
   */
  public ScratchServer(Path root, String runAs) throws IOException {
    if (!SAFE_PATH.matcher(root.toString()).matches()) {
      throw new IllegalArgumentException("the scratch folder " + root + " has characters that would need quoting; "
          + "choose a work directory of letters, digits and / . _ -");
    }
    // a Unix socket path is at most 107 bytes
    if (root.resolve("s/.s.PGSQL.5432").toString().length() > 100) {
      throw new IllegalArgumentException("the scratch folder " + root + " is too long for a Unix socket path");
    }
    this.root = root;
    this.runAs = runAs;
    Files.createDirectories(root);
    for (String dir : List.of("data", "s", "wal/requests", "wal/taken", "wal/ready", "wal/ahead")) {
      Files.createDirectories(root.resolve(dir));
    }
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(root.resolve("data"), PosixFilePermissions.fromString("rwx------"));
    if (runAs != null) {
      run(List.of("chown", "-R", runAs, root.toString()), Duration.ofMinutes(1));
    }
  }

  /**
   * The binaries of {@code major}: {@code template} with {@code {major}} replaced, checked to hold
   * {@code postgres}, {@code pg_ctl} and {@code pg_controldata}.
   *
   * @throws MissingBinariesException they are not installed
   */
  public static Path binaries(String template, int major) throws MissingBinariesException {
    Path dir = Path.of(template.replace("{major}", Integer.toString(major)));
    for (String tool : List.of("postgres", "pg_ctl", "pg_controldata", "pg_dump", "psql")) {
      if (!Files.isExecutable(dir.resolve(tool))) {
        throw new MissingBinariesException("PostgreSQL " + major + " binaries are not installed on this worker (no "
            + dir.resolve(tool) + ")");
      }
    }
    return dir;
  }

  /** No binaries of the base's major version on this worker: the restore cannot run here. */
  public static final class MissingBinariesException extends Exception {
    public MissingBinariesException(String message) {
      super(message);
    }
  }

  public Path root() {
    return root;
  }

  public Path data() {
    return root.resolve("data");
  }

  public Path socketDirectory() {
    return root.resolve("s");
  }

  public Path walDirectory() {
    return root.resolve("wal");
  }

  public Path binaries() {
    return binaries;
  }

  /** The binaries of the unpacked base's major version ({@link #binaries(String, int)}), before anything runs. */
  public void use(Path binaries) {
    this.binaries = binaries;
  }

  /** Who owns files this process writes for the server (staged WAL), or null when that is this process's user. */
  public UserPrincipal owner() throws IOException {
    return runAs == null ? null : root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(runAs);
  }

  /** Unpacks a base backup's tar stream into the data directory, as the run user (the tar's owners are not kept). */
  public void extract(InputStream tar) throws IOException {
    Process tarProcess = start(List.of("tar", "-x", "--no-same-owner", "-f", "-", "-C", data().toString()),
        root.resolve("tar.log"));
    try (OutputStream in = tarProcess.getOutputStream()) {
      tar.transferTo(in);
    } catch (IOException e) {
      tarProcess.destroyForcibly();
      throw e;
    }
    try {
      if (!tarProcess.waitFor(10, TimeUnit.MINUTES) || tarProcess.exitValue() != 0) {
        tarProcess.destroyForcibly();
        throw new IOException("the base backup could not be unpacked: " + tail(root.resolve("tar.log"), 3));
      }
    } catch (InterruptedException e) {
      tarProcess.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while unpacking the base backup");
    }
  }

  /** The major version of the unpacked base ({@code PG_VERSION}). */
  public int major() throws IOException {
    Path version = data().resolve("PG_VERSION");
    if (!Files.exists(version)) {
      throw new IOException("the base backup has no PG_VERSION file: not a PostgreSQL data directory");
    }
    return Integer.parseInt(Files.readString(version).strip());
  }

  /** Reads the unpacked base's control file. */
  public Control control() throws IOException {
    String out = run(List.of(binaries.resolve("pg_controldata").toString(), "-D", data().toString()), Duration.ofMinutes(1));
    long systemId = 0;
    long segmentSize = 16L * 1024 * 1024;
    Map<String, Integer> settings = new LinkedHashMap<>();
    Map<String, String> names = Map.of("max_connections setting", "max_connections",
        "max_worker_processes setting", "max_worker_processes", "max_wal_senders setting", "max_wal_senders",
        "max_prepared_xacts setting", "max_prepared_transactions", "max_locks_per_xact setting", "max_locks_per_transaction");
    for (String line : out.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = line.substring(0, colon).strip();
      String value = line.substring(colon + 1).strip();
      if (name.equals("Database system identifier")) {
        systemId = Long.parseUnsignedLong(value);
      } else if (name.equals("Bytes per WAL segment")) {
        segmentSize = Long.parseLong(value);
      } else if (names.containsKey(name)) {
        settings.put(names.get(name), Integer.parseInt(value));
      }
    }
    return new Control(systemId, segmentSize, settings);
  }

  /**
   * Makes the data directory a recovering server's: removes what belongs to the server the base was
   * taken on ({@code standby.signal}, {@code postmaster.pid}, replication slots, its {@code
   * postgresql.auto.conf}), adds {@code recovery.signal}, and writes Backstop's settings with {@code
   * recoverySettings} (the target) appended.
   */
  public void prepare(Control control, List<String> recoverySettings) throws IOException {
    Path data = data();
    Files.deleteIfExists(data.resolve("standby.signal"));
    Files.deleteIfExists(data.resolve("postmaster.pid"));
    Path slots = data.resolve("pg_replslot");
    if (Files.isDirectory(slots)) {
      try (Stream<Path> each = Files.list(slots)) {
        for (Path slot : each.toList()) {
          deleteTree(slot);
        }
      }
    }
    // its settings (primary_conninfo, preload libraries this worker may not have) are the customer server's:
    // every setting of the scratch server is ours
    writeAsServer(data.resolve("postgresql.auto.conf"), "# emptied by Backstop's point-in-time restore\n");
    writeAsServer(data.resolve("recovery.signal"), "");
    writeAsServer(root.resolve("pg_hba.conf"), "local all all trust\n");
    writeAsServer(root.resolve("pg_ident.conf"), "");
    writeAsServer(root.resolve("fetch.sh"), fetchScript(walDirectory(), 15_000));
    writeSettings(control, recoverySettings);
  }

  /** {@code fetch.sh} for the restore's {@code wal} folder, waiting {@code tries} × 20 ms for an answer. */
  static String fetchScript(Path walDirectory, int tries) {
    return FETCH_SH.formatted(walDirectory, tries);
  }

  /** Rewrites the settings with other recovery settings (a restart without the target). */
  public void writeSettings(Control control, List<String> recoverySettings) throws IOException {
    List<String> lines = new ArrayList<>(List.of(
        "listen_addresses = ''",
        "unix_socket_directories = '" + socketDirectory() + "'",
        "port = 5432",
        "hba_file = '" + root.resolve("pg_hba.conf") + "'",
        "ident_file = '" + root.resolve("pg_ident.conf") + "'",
        "restore_command = 'sh " + root.resolve("fetch.sh") + " %f %p'",
        "archive_mode = off",
        // a throwaway server: nothing it writes must survive a crash, and replay is faster without it
        "fsync = off",
        "full_page_writes = off",
        "synchronous_commit = off",
        "recovery_prefetch = on",
        "maintenance_io_concurrency = 32",
        "shared_buffers = '256MB'",
        "max_wal_size = '8GB'",
        "checkpoint_timeout = '1h'",
        "autovacuum = off",
        // hot standby lets the job read the replay position while recovery runs (progress)
        "hot_standby = on",
        "logging_collector = off",
        "log_min_messages = warning",
        "log_checkpoints = off",
        "shared_preload_libraries = ''"));
    // a hot standby needs these at least as high as on the server the WAL comes from
    control.settings().forEach((name, value) -> lines.add(name + " = " + Math.max(value, "max_connections".equals(name) ? 20 : 0)));
    lines.addAll(recoverySettings);
    writeAsServer(root.resolve("postgresql.conf"), String.join("\n", lines) + "\n");
  }

  /** Starts the server (it recovers, then promotes or stops); does not wait. */
  public void start() throws IOException {
    if (server != null && server.isAlive()) {
      throw new IllegalStateException("the scratch server already runs");
    }
    Files.deleteIfExists(data().resolve("postmaster.pid"));
    server = start(List.of(binaries.resolve("postgres").toString(), "-D", data().toString(),
        "-c", "config_file=" + root.resolve("postgresql.conf")), root.resolve("server.log"));
  }

  /** Where recovery is, without waiting: still running, promoted, or stopped (and why). */
  public Outcome outcome(String user, String database) throws IOException {
    if (server == null) {
      return Outcome.FAILED;
    }
    if (!server.isAlive()) {
      String logText = Files.exists(root.resolve("server.log")) ? Files.readString(root.resolve("server.log")) : "";
      return logText.contains("recovery ended before configured recovery target was reached")
          ? Outcome.TARGET_NOT_REACHED : Outcome.FAILED;
    }
    String answer = query(user, database, "select pg_is_in_recovery()");
    return "f".equals(answer) ? Outcome.PROMOTED : Outcome.RUNNING;
  }

  /** How far replay got, or null when the server does not answer yet. */
  public Long replayedLsn(String user, String database) {
    try {
      String answer = query(user, database, "select pg_last_wal_replay_lsn()");
      return answer == null || answer.isEmpty() ? null : dev.backstop.pitr.Lsn.parse(answer).value();
    } catch (IOException | IllegalArgumentException notYet) {
      return null;
    }
  }

  /** Runs one statement through the socket; null when the server does not accept connections (yet). */
  public String query(String user, String database, String sql) throws IOException {
    List<String> command = List.of(binaries.resolve("psql").toString(), "--no-psqlrc", "--tuples-only", "--no-align",
        "--quiet", "--no-password", "--host", socketDirectory().toString(), "--port", "5432", "--username", user,
        "--dbname", database, "--command", sql);
    Process psql = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!psql.waitFor(30, TimeUnit.SECONDS)) {
        psql.destroyForcibly();
        return null;
      }
      return psql.exitValue() == 0 ? out.strip() : null;
    } catch (InterruptedException e) {
      psql.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while asking the scratch server");
    }
  }

  /** The server log's last lines that say why it stopped (FATAL/PANIC/ERROR first). */
  public String failure() throws IOException {
    Path logFile = root.resolve("server.log");
    if (!Files.exists(logFile)) {
      return "the scratch server wrote no log";
    }
    List<String> lines = Files.readAllLines(logFile);
    List<String> bad = lines.stream().filter(l -> l.contains("FATAL") || l.contains("PANIC")).toList();
    List<String> chosen = bad.isEmpty() ? lines : bad;
    return String.join(" | ", chosen.subList(Math.max(0, chosen.size() - 3), chosen.size()));
  }

  /** Waits until the server stopped by itself (a recovery that ends with FATAL). */
  public void awaitExit(Duration wait) throws IOException {
    if (server == null) {
      return;
    }
    try {
      server.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for the scratch server");
    }
  }

  /** Stops the server at once (no shutdown checkpoint: its files are thrown away). Never throws. */
  public void stopImmediately() {
    if (binaries != null) {
      stopImmediately(binaries, runAs, data());
    }
    if (server != null) {
      server.destroyForcibly();
      server.descendants().forEach(ProcessHandle::destroyForcibly);
      try {
        server.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Stops whatever server runs on {@code data} (a server a killed worker left behind), then kills its postmaster. */
  static void stopImmediately(Path binaries, String runAs, Path data) {
    Path pidFile = data.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    try {
      List<String> stop = new ArrayList<>();
      if (runAs != null) {
        stop.addAll(List.of("runuser", "-u", runAs, "--"));
      }
      stop.addAll(List.of(binaries == null ? "pg_ctl" : binaries.resolve("pg_ctl").toString(), "-D", data.toString(),
          "-m", "immediate", "-w", "-t", "10", "stop"));
      Process p = new ProcessBuilder(stop).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      p.waitFor(15, TimeUnit.SECONDS);
    } catch (IOException | RuntimeException e) {
      log.debug("pg_ctl stop on {}: {}", data, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      if (Files.exists(pidFile)) {
        long pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
        ProcessHandle.of(pid).ifPresent(h -> {
          h.descendants().forEach(ProcessHandle::destroyForcibly);
          h.destroyForcibly();
        });
      }
    } catch (IOException | RuntimeException e) {
      log.debug("killing the postmaster of {}: {}", data, e.toString());
    }
  }

  /** Stops the server and deletes the scratch folder. */
  @Override
  public void close() {
    stopImmediately();
    deleteTree(root);
  }

  /**
   * Removes what a worker killed mid-restore left in {@code workDirectory} under {@code prefix}: its server
   * stopped, its folder deleted. Called by whoever takes the job over before it starts its own.
   */
  public static void reclaim(Path workDirectory, String prefix, String binariesTemplate, String runAs) {
    if (!Files.isDirectory(workDirectory)) {
      return;
    }
    try (Stream<Path> dirs = Files.list(workDirectory)) {
      for (Path stale : dirs.filter(d -> d.getFileName().toString().startsWith(prefix)).toList()) {
        log.info("removing the scratch folder {} a previous attempt left", stale);
        Path binaries = null;
        try {
          int major = Integer.parseInt(Files.readString(stale.resolve("data/PG_VERSION")).strip());
          binaries = Path.of(binariesTemplate.replace("{major}", Integer.toString(major)));
        } catch (IOException | RuntimeException noVersion) {
          // unpacking had not got that far: then no server ran either
        }
        stopImmediately(binaries, runAs, stale.resolve("data"));
        deleteTree(stale);
      }
    } catch (IOException e) {
      log.warn("could not look for stale scratch folders in {}: {}", workDirectory, e.getMessage());
    }
  }

  private void writeAsServer(Path file, String content) throws IOException {
    Files.writeString(file, content);
    if (runAs != null) {
      Files.setOwner(file, owner());
    }
  }

  private Process start(List<String> command, Path logFile) throws IOException {
    List<String> full = new ArrayList<>();
    if (runAs != null) {
      full.addAll(List.of("runuser", "-u", runAs, "--"));
    }
    full.addAll(command);
    return new ProcessBuilder(full).directory(root.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
  }

  private String run(List<String> command, Duration timeout) throws IOException {
    Process p = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(command.getFirst() + " failed: " + out.strip());
      }
      return out;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while running " + command.getFirst());
    }
  }

  private static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "";
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not delete {}: {}", root, e.getMessage());
    }
  }
}
