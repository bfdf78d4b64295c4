package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.PitrKeys;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.WalContinuity;
import dev.backstop.testing.PostgresCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real primary and streaming standby, a writer committing numbered rows, Backstop's stream archiving the
 * standby's WAL; then a restore by hand with stock tools (a {@code pg_basebackup} tar and a {@code
 * restore_command} reading the store through {@link dev.backstop.pitr.WalFetch}).
 */
class WalStreamIT {

  static final String ADDON = "addon-walstream-it";
  static final long SEGMENT = 16L * 1024 * 1024;
  static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  final List<AutoCloseable> cleanup = new ArrayList<>();
  final List<Path> dirs = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : cleanup.reversed()) {
      try {
        c.close();
      } catch (Exception ignored) {
        // best effort
      }
    }
    for (Path dir : dirs) {
      deleteTree(dir);
    }
  }

  @Test
  void streams_killed_with_sigkill_or_mid_chunk_and_a_promoted_standby_leave_every_committed_row_restorable() throws Exception {
    PostgresCluster primary = PostgresCluster.primary(freePort());
    cleanup.add(primary);
    PostgresCluster standby = primary.replica(freePort());
    cleanup.add(standby);
    primary.psql("postgres", "create table numbered(id bigint primary key, at timestamptz default now())");

    Path storeDir = sharedDir("store");
    byte[] master = newMasterKey();
    Path keyFile = sharedDir("key").resolve("master.key");
    Files.writeString(keyFile, Base64.getEncoder().encodeToString(master));
    FilesystemArchiveStore archive = new FilesystemArchiveStore(storeDir);
    ArchiveCipher cipher = new ArchiveCipher(archive, master);

    StreamTarget target = new StreamTarget(ADDON, "127.0.0.1", standby.port(), "postgres", null, "Business: the secondary");
    List<String> events = new CopyOnWriteArrayList<>();
    WalStream.Listener listener = new WalStream.Listener() {
      @Override
      public void timelineSwitched(int from, int to, Lsn switchLsn) {
        events.add("timeline " + from + "->" + to + " at " + switchLsn);
      }

      @Override
      public void gap(Lsn from, String reason) {
        events.add("gap " + reason);
      }
    };

    // 1. a stream starts in a JVM of its own (creating the slot on the standby), then the base backup is taken from the standby
    Path childScratch = localDir("walarchiver-child");
    Process child = new ProcessBuilder(javaBinary(), "-cp", System.getProperty("java.class.path"),
        StreamProcess.class.getName(), storeDir.toString(), keyFile.toString(), childScratch.toString(), ADDON,
        "127.0.0.1", Integer.toString(standby.port()))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    cleanup.add(child::destroyForcibly);
    await().atMost(Duration.ofSeconds(30)).until(() -> !archive.list(PitrKeys.walPrefix(ADDON, 1)).isEmpty());
    assertThat(standby.psql("postgres", "select count(*) from pg_replication_slots where slot_name = '" + target.slotName() + "'"))
        .isEqualTo("1");
    Path baseDir = sharedDir("base");
    run(List.of("pg_basebackup", "-h", "127.0.0.1", "-p", Integer.toString(standby.port()), "-U", "postgres",
        "-D", baseDir.resolve("tar").toString(), "-Ft", "-X", "none", "-c", "fast"));

    // 2. a writer commits numbered rows on the primary; the child is killed with SIGKILL and its local directory deleted
    Writer writer = new Writer(primary.port());
    cleanup.add(writer);
    writer.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> writer.acked.get() > 300);
    child.destroyForcibly().waitFor();
    deleteTree(childScratch);

    // 3. a stream in this JVM takes over from the slot, and is itself killed mid-chunk (its bytes in memory lost)
    Path localState1 = localDir("walarchiver-local");
    WalStream first = new WalStream(target, new ArchiveWalSegmentStore(archive, cipher, localState1), Clock.systemUTC(),
        Duration.ofMillis(200), listener);
    Thread firstThread = Thread.ofPlatform().name("wal-stream-1").start(first);
    cleanup.add(() -> { first.kill(); firstThread.join(5000); });
    long ackedAtTakeover = writer.acked.get();
    await().atMost(Duration.ofSeconds(20)).until(() -> writer.acked.get() > ackedAtTakeover + 300 && first.durable() != null);
    first.kill();
    firstThread.join(5000);
    deleteTree(localState1);
    long ackedAtKill = writer.acked.get();

    // another takes over from the slot, with none of the first one's memory
    WalStream second = new WalStream(target, new ArchiveWalSegmentStore(archive, cipher,
        localDir("walarchiver-local")), Clock.systemUTC(), Duration.ofMillis(200), listener);
    Thread secondThread = Thread.ofPlatform().name("wal-stream-2").start(second);
    cleanup.add(() -> { second.stop(); secondThread.join(10_000); });
    await().atMost(Duration.ofSeconds(20)).until(() -> writer.acked.get() > ackedAtKill + 300);

    // 4. failover: the writer pauses, the standby catches up and is promoted, the old primary dies, writes resume on the new one
    writer.pause();
    long beforePromotion = writer.acked.get();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> Long.parseLong(standby.psql("postgres", "select count(*) from numbered")) == beforePromotion);
    standby.psql("postgres", "select pg_promote()");
    primary.stop();
    writer.resumeOn(standby.port());
    await().atMost(Duration.ofSeconds(30)).until(() -> second.timeline() == 2 && writer.acked.get() > beforePromotion + 300);
    writer.close();
    long committed = writer.acked.get();
    Lsn serverEnd = Lsn.parse(standby.psql("postgres", "select pg_current_wal_flush_lsn()"));
    await().atMost(Duration.ofSeconds(20)).until(() -> second.durable() != null && !second.durable().isBefore(serverEnd));
    second.stop();
    secondThread.join(10_000);

    assertThat(events).contains("timeline 1->2 at " + events.stream().filter(e -> e.startsWith("timeline"))
        .findFirst().orElseThrow().substring("timeline 1->2 at ".length()));
    assertThat(events).noneMatch(e -> e.startsWith("gap"));
    assertThat(archive.exists(PitrKeys.history(ADDON, 2))).isTrue();

    // 5. restore by hand: the base tar, and restore_command reading the store through Backstop's code
    assertThat(restoredRows(baseDir.resolve("tar/base.tar"), storeDir, keyFile)).isEqualTo(committed);

    // 6. a segment deleted from the store is a hole the auditor finds
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(archive, cipher, localDir("walarchiver-audit"));
    List<StoredWal> stored = wal.list(ADDON, 1, SEGMENT);
    Lsn from = stored.getFirst().start();
    Lsn to = stored.getLast().end();
    assertThat(WalContinuity.firstHole(stored, from, to)).isEmpty();
    // every object of the base's first segment (whole segment and chunks re-sent after the restart) deleted
    var victim = stored.getFirst().segment();
    for (StoredWal w : stored) {
      if (w.segment().equals(victim)) {
        wal.delete(w);
      }
    }
    assertThat(WalContinuity.firstHole(wal.list(ADDON, 1, SEGMENT), from, to)).contains(victim.startLsn());
  }

  @Test
  void a_server_that_dies_between_two_chunks_leaves_what_it_had_sent_stored() throws Exception {
    PostgresCluster primary = PostgresCluster.primary(freePort());
    cleanup.add(primary);
    primary.psql("postgres", "create table numbered(id bigint primary key)");
    Path storeDir = localDir("walarchiver-store");
    byte[] master = newMasterKey();
    FilesystemArchiveStore archive = new FilesystemArchiveStore(storeDir);
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(archive, new ArchiveCipher(archive, master),
        localDir("walarchiver-local"));
    StreamTarget target = new StreamTarget(ADDON, "127.0.0.1", primary.port(), "postgres", null, "Starter: the primary");
    // no chunk is cut by time during the test: the last commits reach the store only if the stream stores
    // what it holds when the connection dies
    WalStream stream = new WalStream(target, wal, Clock.systemUTC(), Duration.ofHours(1), new WalStream.Listener() {});
    Thread thread = Thread.ofPlatform().name("wal-stream").start(stream);
    cleanup.add(() -> { stream.stop(); thread.join(5000); });
    await().atMost(Duration.ofSeconds(20)).until(() -> "1".equals(primary.psql("postgres",
        "select count(*) from pg_stat_replication where state = 'streaming'")));
    primary.psql("postgres", "insert into numbered select generate_series(1, 1000)");
    Lsn lastCommit = Lsn.parse(primary.psql("postgres", "select pg_current_wal_flush_lsn()"));
    // the stream reports what it received (write_lsn) every 250 ms: it holds the last commit, unstored
    await().atMost(Duration.ofSeconds(20)).until(() -> "t".equals(primary.psql("postgres",
        "select write_lsn >= '" + lastCommit + "' from pg_stat_replication")));
    Lsn before = stream.durable(); // null, or a whole segment's end if the inserts crossed one
    assertThat(before == null || before.isBefore(lastCommit)).as("stored before the server died: " + before).isTrue();

    primary.stop(); // immediate: the server's processes quit at once, the connection drops

    await().atMost(Duration.ofSeconds(20)).until(() -> stream.durable() != null && !stream.durable().isBefore(lastCommit));
    List<StoredWal> stored = wal.list(ADDON, 1, SEGMENT);
    assertThat(WalContinuity.firstHole(stored, stored.getFirst().start(), lastCommit)).isEmpty();
  }

  /** Untars the base into a new data directory, recovers it to the end of the archive, returns its row count. */
  long restoredRows(Path baseTar, Path storeDir, Path keyFile) throws Exception {
    Path dir = sharedDir("restore");
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    run(List.of("tar", "-xf", baseTar.toString(), "-C", data.toString()));
    Files.deleteIfExists(data.resolve("standby.signal"));
    Files.createFile(data.resolve("recovery.signal"));
    String restore = javaBinary() + " -cp " + fetchClasspath() + " dev.backstop.pitr.WalFetch " + storeDir + " " + ADDON
        + " " + keyFile + " " + SEGMENT + " %f %p";
    Files.writeString(data.resolve("postgresql.auto.conf"), "\nprimary_conninfo = ''\nprimary_slot_name = ''\n"
        + "restore_command = '" + restore + "'\nrecovery_target_timeline = 'latest'\narchive_mode = off\n",
        StandardOpenOption.APPEND);
    run(List.of("chmod", "700", data.toString()));
    // the server's user runs restore_command: it reads the store (data keys are 0600) and the key file
    run(List.of("chmod", "-R", "a+rX", storeDir.toString(), keyFile.getParent().toString()));
    if (ROOT) {
      run(List.of("chown", "-R", "postgres:postgres", dir.toString()));
    }
    int port = freePort();
    asServer(List.of(bin("pg_ctl"), "-D", data.toString(), "-l", dir.resolve("server.log").toString(), "-w", "-t", "120",
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "start"), dir);
    cleanup.add(() -> asServer(List.of(bin("pg_ctl"), "-D", data.toString(), "-m", "immediate", "-w", "stop"), dir));
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    await().atMost(Duration.ofSeconds(120)).ignoreExceptions().until(() -> {
      try (Connection c = DriverManager.getConnection(url, "postgres", "");
          var rs = c.createStatement().executeQuery("select pg_is_in_recovery()")) {
        rs.next();
        return !rs.getBoolean(1);
      }
    });
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        var rs = c.createStatement().executeQuery("select count(*), coalesce(max(id), 0) from numbered")) {
      rs.next();
      assertThat(rs.getLong(1)).as("rows are 1..max, none missing").isEqualTo(rs.getLong(2));
      return rs.getLong(1);
    }
  }

  /** Commits rows 1, 2, 3, … one per transaction; {@code acked} is the last one the server acknowledged. */
  static final class Writer implements AutoCloseable {
    final AtomicLong acked = new AtomicLong();
    final AtomicReference<Integer> port = new AtomicReference<>();
    final AtomicBoolean paused = new AtomicBoolean();
    final AtomicBoolean done = new AtomicBoolean();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread thread;

    Writer(int port) {
      this.port.set(port);
    }

    void start() {
      thread = Thread.ofPlatform().name("writer").start(this::write);
    }

    void pause() throws InterruptedException {
      paused.set(true);
      long before = acked.get();
      Thread.sleep(100); // let an insert in flight be acknowledged; acked is read after
      assertThat(acked.get()).isGreaterThanOrEqualTo(before);
    }

    void resumeOn(int newPort) {
      port.set(newPort);
      paused.set(false);
    }

    private void write() {
      while (!done.get()) {
        int current = port.get();
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + current + "/postgres", "postgres", "");
            PreparedStatement insert = c.prepareStatement("insert into numbered(id) values (?)")) {
          while (!done.get()) {
            if (paused.get()) {
              java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
              continue;
            }
            if (port.get() != current) {
              break; // resumed on another server: reconnect there
            }
            insert.setLong(1, acked.get() + 1);
            insert.executeUpdate();
            acked.incrementAndGet();
          }
        } catch (SQLException e) {
          if (!paused.get() && !done.get()) {
            failure.set(e);
            return;
          }
        }
      }
    }

    @Override
    public void close() throws InterruptedException {
      done.set(true);
      if (thread != null) {
        thread.join(10_000);
      }
      assertThat(failure.get()).as("writer failure").isNull();
    }
  }

  /**
   * The classes WalFetch needs, copied where the server's user can read them (the build's are under /root).
   * Found by their code sources: under Maven the test's own class path is a manifest-only booter jar.
   */
  String fetchClasspath() throws Exception {
    Path dir = sharedDir("walfetch-classpath");
    List<String> entries = new ArrayList<>();
    int i = 0;
    for (Class<?> type : List.of(dev.backstop.pitr.WalFetch.class, ArchiveCipher.class,
        com.google.crypto.tink.Aead.class, com.google.protobuf.MessageLite.class, com.google.gson.Gson.class,
        com.github.luben.zstd.Zstd.class, org.slf4j.LoggerFactory.class)) {
      Path source = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path copy = dir.resolve(i++ + "-" + source.getFileName());
      if (Files.isDirectory(source)) {
        copyTree(source, copy);
      } else {
        Files.copy(source, copy);
      }
      entries.add(copy.toString());
    }
    run(List.of("chmod", "-R", "a+rX", dir.toString()));
    return String.join(":", entries);
  }

  static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** A directory of this JVM's own, deleted after the test. */
  Path localDir(String prefix) throws IOException {
    Path dir = Files.createTempDirectory(prefix);
    dirs.add(dir);
    return dir;
  }

  Path sharedDir(String name) throws IOException {
    Path dir = Files.createTempDirectory("walstream-it-" + name);
    run(List.of("chmod", "755", dir.toString()));
    dirs.add(dir);
    return dir;
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  static byte[] newMasterKey() {
    byte[] master = new byte[32];
    new SecureRandom().nextBytes(master);
    return master;
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static String bin(String tool) {
    return "/usr/lib/postgresql/15/bin/" + tool;
  }

  static void asServer(List<String> command, Path dir) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (ROOT) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    Process p = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      String log = Files.exists(dir.resolve("server.log")) ? Files.readString(dir.resolve("server.log")) : "";
      throw new IllegalStateException(command.getFirst() + " failed: " + out + "\n" + log);
    }
  }

  static void run(List<String> command) throws IOException {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
