package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.ClusterWal;
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
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.PitrBaseInfo;
import dev.backstop.schemas.events.PitrBaseRef;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.secret.SecretSealer;
import java.util.Map;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real primary and streaming standby, a writer committing numbered rows, Backstop's stream archiving the
 * standby's WAL; then a restore by hand with stock tools (a {@code pg_basebackup} tar and a {@code
 * restore_command} reading the store through {@link dev.backstop.pitr.WalFetch}). Also: a cluster
 * re-initialised under the same addon (its WAL apart, a new window), and a stopped standby whose stream
 * moves to the primary and back (no gap).
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
    Servers servers = primaryAndStandby();
    PostgresCluster primary = servers.primary();
    PostgresCluster standby = servers.standby();
    ClusterWal cluster = new ClusterWal(ADDON, systemId(primary));

    Store store = newStore();
    Path storeDir = store.dir();
    Path keyFile = store.keyFile();
    FilesystemArchiveStore archive = store.archive();
    ArchiveCipher cipher = store.cipher();

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
    await().atMost(Duration.ofSeconds(30)).until(() -> !archive.list(PitrKeys.walPrefix(cluster, 1)).isEmpty());
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
    assertThat(archive.exists(PitrKeys.history(cluster, 2))).isTrue();

    // 5. restore by hand: the base tar, and restore_command reading the store through Backstop's code
    assertThat(restoredRows(baseDir.resolve("tar/base.tar"), storeDir, keyFile)).isEqualTo(committed);

    // 6. a segment deleted from the store is a hole the auditor finds
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(archive, cipher, localDir("walarchiver-audit"));
    List<StoredWal> stored = wal.list(cluster, 1, SEGMENT);
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
    assertThat(WalContinuity.firstHole(wal.list(cluster, 1, SEGMENT), from, to)).contains(victim.startLsn());
  }

  @Test
  void a_cluster_re_initialised_under_the_same_addon_keeps_its_wal_apart_and_opens_a_new_window() throws Exception {
    int port = freePort();
    Store store = newStore();
    Pitr pitr = new Pitr();
    cleanup.add(pitr);
    pitr.register(Plan.STARTER, List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", port)));
    StreamTarget target = pitr.addons.targets().getFirst();

    // 1. the addon's first cluster: archived, a base taken, rows committed, the window open
    PostgresCluster first = PostgresCluster.primary(port);
    cleanup.add(first);
    createNumbered(first);
    ClusterWal a = new ClusterWal(ADDON, systemId(first));
    Pitr.Running one = pitr.start(target, store.wal(localDir("stream-a")));
    await().atMost(Duration.ofSeconds(30)).until(() -> !store.archive().list(PitrKeys.walPrefix(a, 1)).isEmpty());
    StockBase baseA = stockBase(port, "base-a");
    long committedA = commitRows(port, 400);
    pitr.baseCompleted("base-a", baseA, a.systemId());
    archivedToEnd(one.stream(), first);
    await().atMost(Duration.ofSeconds(20)).until(() -> pitr.window().getState() == PitrState.STREAMING
        && Long.valueOf(a.systemId()).equals(pitr.window().getSystemId()));
    one.stop();
    Map<String, String> objectsOfA = digests(store, PitrKeys.clusterPrefix(a));

    // 2. the addon's server is re-initialised (initdb again, same address): its WAL has the old one's file names
    first.close();
    PostgresCluster second = PostgresCluster.primary(port);
    cleanup.add(second);
    ClusterWal b = new ClusterWal(ADDON, systemId(second));
    assertThat(b.systemId()).isNotEqualTo(a.systemId());
    createNumbered(second);
    Pitr.Running two = pitr.start(target, store.wal(localDir("stream-b")));

    // a loud window event: broken since the old cluster's latest instant, and a base of the new one requested at once
    await().atMost(Duration.ofSeconds(30)).until(() -> pitr.requests().stream()
        .anyMatch(r -> r.getReason().contains("system identifier changed")));
    // (a window computed between the gap and the new cluster's announcement may still name the old system)
    await().atMost(Duration.ofSeconds(10)).until(() -> pitr.windows().stream().anyMatch(w -> w.getState() == PitrState.BROKEN
        && Long.valueOf(b.systemId()).equals(w.getSystemId())));
    PitrWindowChanged broken = pitr.windows().stream().filter(w -> w.getState() == PitrState.BROKEN
        && Long.valueOf(b.systemId()).equals(w.getSystemId())).findFirst().orElseThrow();
    assertThat(broken.getReason()).contains("system identifier changed from " + Long.toUnsignedString(a.systemId())
        + " to " + Long.toUnsignedString(b.systemId()));
    assertThat(broken.getSystemId()).isEqualTo(b.systemId());
    assertThat(broken.getBrokenSince()).isNotNull();
    assertThat(broken.getBases()).as("the old cluster's base restores nothing of the new one").isEmpty();
    assertThat(pitr.sent).filteredOn(e -> e instanceof WalGapDetected).singleElement()
        .satisfies(g -> assertThat(((WalGapDetected) g).getReason()).contains("system identifier changed"));

    // 3. the new window opens with the new cluster's base
    StockBase baseB = stockBase(port, "base-b");
    long committedB = commitRows(port, 150);
    pitr.baseCompleted("base-b", baseB, b.systemId());
    archivedToEnd(two.stream(), second);
    await().atMost(Duration.ofSeconds(20)).until(() -> pitr.window().getState() == PitrState.STREAMING);
    assertThat(pitr.window().getSystemId()).isEqualTo(b.systemId());
    assertThat(pitr.window().getBases()).extracting(PitrBaseRef::getBackupId).containsExactly("base-b");
    assertThat(pitr.window().getEarliest()).isEqualTo(baseB.end());
    two.stop();

    // 4. the two clusters' WAL share file names but no object: A's archive is exactly as it was
    assertThat(digests(store, PitrKeys.clusterPrefix(a))).isEqualTo(objectsOfA);
    Set<String> namesA = segmentNames(store, a);
    Set<String> namesB = segmentNames(store, b);
    assertThat(namesA).as("the collision keys without the system identifier had").containsAnyElementsOf(namesB);
    // each base recovers its own cluster's rows through restore_command (WalFetch reads the cluster from pg_control)
    assertThat(restoredRows(baseA.tar(), store.dir(), store.keyFile())).isEqualTo(committedA);
    assertThat(restoredRows(baseB.tar(), store.dir(), store.keyFile())).isEqualTo(committedB);
  }

  @Test
  void a_stopped_standby_moves_the_stream_to_the_primary_and_back_with_no_gap() throws Exception {
    Servers servers = primaryAndStandby();
    PostgresCluster primary = servers.primary();
    PostgresCluster standby = servers.standby();
    Store store = newStore();
    Pitr pitr = new Pitr();
    cleanup.add(pitr);
    pitr.register(Plan.BUSINESS, List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", primary.port()),
        new DatabaseNode(NodeRole.SECONDARY, "127.0.0.1", standby.port())));
    String slot = pitr.addons.targets().getFirst().slotName();
    String activeSlot = "select count(*) from pg_replication_slots where slot_name = '" + slot + "' and active";
    pitr.supervise(store.wal(localDir("stream")));

    // 1. Business streams from the secondary; the primary's slot of the same name follows the archive
    await().atMost(Duration.ofSeconds(30)).until(() -> standby.psql("postgres", activeSlot).equals("1"));
    StockBase base = stockBase(standby.port(), "base");
    pitr.baseCompleted("base", base, systemId(primary));
    Writer writer = new Writer(primary.port());
    cleanup.add(writer);
    writer.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> writer.acked.get() > 300
        && pitr.window().getState() == PitrState.STREAMING && pitr.window().getReason() == null);
    await().atMost(Duration.ofSeconds(20)).until(() -> primary.psql("postgres",
        "select count(*) from pg_replication_slots where slot_name = '" + slot + "' and not active and restart_lsn > '"
            + base.stopLsn() + "'").equals("1"));

    // 2. the secondary stops: after the bound, the stream moves to the primary, and the window says so
    standby.stop();
    long ackedAtStop = writer.acked.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> primary.psql("postgres", activeSlot).equals("1"));
    await().atMost(Duration.ofSeconds(20)).until(() -> pitr.window().getReason() != null);
    assertThat(pitr.window().getState()).isEqualTo(PitrState.STREAMING);
    assertThat(pitr.window().getReason()).startsWith("streaming from the primary 127.0.0.1:" + primary.port())
        .contains("the secondary 127.0.0.1:" + standby.port() + " is unreachable since");
    await().atMost(Duration.ofSeconds(30)).until(() -> writer.acked.get() > ackedAtStop + 300);
    archivedToEnd(pitr, primary);

    // 3. the secondary returns and catches up: the stream goes back to it
    standby.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> standby.psql("postgres", activeSlot).equals("1"));
    await().atMost(Duration.ofSeconds(20)).until(() -> pitr.window().getReason() == null);
    long ackedAtReturn = writer.acked.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> writer.acked.get() > ackedAtReturn + 300);
    writer.close();
    long committed = writer.acked.get();
    archivedToEnd(pitr, primary);
    pitr.close();

    // 4. no gap at any move, and every committed row restorable from the base taken before them all
    assertThat(pitr.sent).noneMatch(e -> e instanceof WalGapDetected);
    assertThat(pitr.sent).filteredOn(e -> e instanceof PitrWindowChanged).extracting(e -> ((PitrWindowChanged) e).getState())
        .doesNotContain(PitrState.BROKEN);
    assertThat(restoredRows(base.tar(), store.dir(), store.keyFile())).isEqualTo(committed);
  }

  record Servers(PostgresCluster primary, PostgresCluster standby) {}

  /** A primary and its streaming standby, closed after the test; the table of numbered rows on the primary. */
  Servers primaryAndStandby() throws IOException {
    PostgresCluster primary = PostgresCluster.primary(freePort());
    cleanup.add(primary);
    PostgresCluster standby = primary.replica(freePort());
    cleanup.add(standby);
    createNumbered(primary);
    return new Servers(primary, standby);
  }

  static void createNumbered(PostgresCluster server) {
    server.psql("postgres", "create table numbered(id bigint primary key, at timestamptz default now())");
  }

  /** Commits rows 1..n on the server, one transaction each; returns n. */
  static long commitRows(int port, int n) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
        PreparedStatement insert = c.prepareStatement("insert into numbered(id) values (?)")) {
      for (int i = 1; i <= n; i++) {
        insert.setLong(1, i);
        insert.executeUpdate();
      }
    }
    return n;
  }

  static void archivedToEnd(WalStream stream, PostgresCluster server) {
    Lsn end = Lsn.parse(server.psql("postgres", "select pg_current_wal_flush_lsn()"));
    await().atMost(Duration.ofSeconds(30)).until(() -> stream.durable() != null && !stream.durable().isBefore(end));
  }

  /** Waits until the archive's saved facts (whichever node streams) reach the server's flushed WAL. */
  static void archivedToEnd(Pitr pitr, PostgresCluster server) {
    Lsn end = Lsn.parse(server.psql("postgres", "select pg_current_wal_flush_lsn()"));
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Long durable = pitr.leases.facts(ADDON).durable();
      return durable != null && !new Lsn(durable).isBefore(end);
    });
  }

  /** Every stored object under {@code prefix}, with the SHA-256 of its bytes at rest. */
  static Map<String, String> digests(Store store, String prefix) throws Exception {
    Map<String, String> digests = new java.util.TreeMap<>();
    for (String key : store.archive().list(prefix)) {
      try (var in = store.archive().open(key, 0)) {
        digests.put(key, java.util.HexFormat.of().formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(in.readAllBytes())));
      }
    }
    return digests;
  }

  static Set<String> segmentNames(Store store, ClusterWal cluster) throws IOException {
    Set<String> names = new java.util.TreeSet<>();
    for (StoredWal wal : store.wal(Files.createTempDirectory("names")).list(cluster, 1, SEGMENT)) {
      names.add(wal.segment().fileName());
    }
    return names;
  }

  /**
   * The wal-archiver's own parts around the streams, as the service wires them (in-process MongoDB, events
   * captured): the addon's registration, the bases, leases and windows, the trackers; short intervals.
   */
  static final class Pitr implements AutoCloseable {
    static final WalArchiverProperties SETTINGS = new WalArchiverProperties(true, Duration.ofMillis(200),
        Duration.ofSeconds(5), Duration.ofMillis(200), 10, Duration.ofSeconds(1), Duration.ofMillis(200),
        Duration.ofMillis(500), Duration.ofMinutes(10), Duration.ofSeconds(2), Duration.ofSeconds(1));

    final List<SpecificRecord> sent = new CopyOnWriteArrayList<>();
    final InProcessMongo mongo = InProcessMongo.inMemory();
    final MongoClient client = MongoClients.create(mongo.uri());
    final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    final StreamLeases leases;
    final PitrBases bases;
    final AddonsProjection addons;
    final WindowPublisher publisher;
    final EventPublisher events = new EventPublisher(null, () -> "") {
      @Override
      public void publish(String topic, String addonId, SpecificRecord event) {
        sent.add(event);
      }
    };
    StreamSupervisor supervisor;
    Thread ticking;
    final List<Running> runs = new CopyOnWriteArrayList<>();
    volatile boolean stopped;

    record Running(WalStream stream, Thread streaming, WindowTracker tracker, Thread tracking, Runnable release) {
      void stop() throws InterruptedException {
        stream.stop();
        streaming.join(10_000);
        tracker.stop();
        tracking.join(10_000);
        release.run();
      }
    }

    Pitr() {
      MongoDatabase db = client.getDatabase("wal");
      leases = new StreamLeases(db);
      bases = new PitrBases(db);
      addons = new AddonsProjection(db, sealer);
      publisher = new WindowPublisher(db, addons, bases, leases, events, Clock.systemUTC(), true);
    }

    void register(Plan plan, List<DatabaseNode> nodes) {
      addons.apply(new AddonSpec(ADDON, "app-1", Engine.POSTGRESQL, plan, "postgres", "postgres",
          sealer.seal(ADDON, "unused: the throwaway servers trust"), nodes, new BackupSchedule(true, 1, "UTC")), 1);
    }

    /** A stream and its window's tracker for {@code target}, as the supervisor starts them after a claim. */
    StreamSupervisor.Run run(StreamTarget target, long epoch, String owner, dev.backstop.pitr.WalSegmentStore wal) {
      WindowTracker tracker = new WindowTracker(target, epoch, owner, leases, bases, publisher, events, Clock.systemUTC(),
          SETTINGS, leases.facts(target.addonId()));
      WalStream stream = new WalStream(target, wal, Clock.systemUTC(), SETTINGS.chunkInterval(), tracker, tracker.resume());
      stream.auditFloor(tracker::auditFloor);
      return new StreamSupervisor.Run(stream, tracker);
    }

    Running start(StreamTarget target, dev.backstop.pitr.WalSegmentStore wal) {
      long epoch = leases.claim(ADDON, "it", java.time.Instant.now(), SETTINGS.lease()).orElseThrow();
      StreamSupervisor.Run run = run(target, epoch, "it", wal);
      WindowTracker tracker = (WindowTracker) run.monitor();
      Running running = new Running(run.stream(), Thread.ofPlatform().daemon().start(run.stream()), tracker,
          Thread.ofPlatform().daemon().start(tracker), () -> leases.release(ADDON, "it", epoch, java.time.Instant.now().minusMillis(1)));
      runs.add(running);
      return running;
    }

    /** The supervisor of one instance, ticking every {@code tick}. */
    void supervise(dev.backstop.pitr.WalSegmentStore wal) {
      supervisor = new StreamSupervisor(leases, addons, (target, epoch) -> run(target, epoch, "it-instance", wal),
          Clock.systemUTC(), "it-instance", SETTINGS.lease(), SETTINGS.maxStreams(), SETTINGS.auditInterval(),
          SETTINGS.fallbackAfter(), SETTINGS.moveBackInterval());
      ticking = Thread.ofPlatform().name("supervisor").daemon().start(() -> {
        while (!stopped) {
          supervisor.tick();
          supervisor.auditIfDue();
          java.util.concurrent.locks.LockSupport.parkNanos(SETTINGS.tick().toNanos());
        }
      });
    }

    /** A base backup's completion, as the backup-events consumer takes it. */
    void baseCompleted(String backupId, StockBase base, long systemId) {
      bases.completed(BackupCompleted.newBuilder().setBackupId(backupId).setAddonId(ADDON).setAppName("app-1")
          .setKind(BackupKind.PITR_BASE).setRequestedAt(base.end()).setStartedAt(base.end()).setCompletedAt(base.end())
          .setNode("n").setArchiveKey(PitrKeys.base(ADDON, backupId)).setArchiveName("base.tar.zst").setSizeBytes(1)
          .setSha256("00").setPitrBase(new PitrBaseInfo(base.timeline(), base.startLsn().value(), base.stopLsn().value(),
              150000, systemId, base.end())).build());
      publisher.refresh(ADDON);
    }

    List<PitrWindowChanged> windows() {
      return sent.stream().filter(e -> e instanceof PitrWindowChanged).map(e -> (PitrWindowChanged) e).toList();
    }

    PitrWindowChanged window() {
      List<PitrWindowChanged> all = windows();
      return all.isEmpty() ? PitrWindowChanged.newBuilder().setAddonId(ADDON).setState(PitrState.UNAVAILABLE)
          .setBases(List.of()).setAt(java.time.Instant.EPOCH).build() : all.getLast();
    }

    List<BackupRequested> requests() {
      return sent.stream().filter(e -> e instanceof BackupRequested).map(e -> (BackupRequested) e).toList();
    }

    @Override
    public void close() throws InterruptedException {
      stopped = true;
      for (Running running : runs) {
        running.stream().kill();
        running.tracker().stop();
      }
      if (ticking != null) {
        ticking.join(10_000);
        supervisor.close();
        ticking = null;
      }
      client.close();
      mongo.close();
    }
  }

  /** A filesystem archive store the server's user can read (for {@code restore_command}), and its master key. */
  record Store(Path dir, Path keyFile, FilesystemArchiveStore archive, ArchiveCipher cipher) {
    ArchiveWalSegmentStore wal(Path scratch) throws IOException {
      return new ArchiveWalSegmentStore(archive, cipher, scratch);
    }
  }

  Store newStore() throws IOException {
    Path storeDir = sharedDir("store");
    byte[] master = newMasterKey();
    Path keyFile = sharedDir("key").resolve("master.key");
    Files.writeString(keyFile, Base64.getEncoder().encodeToString(master));
    FilesystemArchiveStore archive = new FilesystemArchiveStore(storeDir);
    return new Store(storeDir, keyFile, archive, new ArchiveCipher(archive, master));
  }

  /** A stock base backup ({@code pg_basebackup -Ft -X none}) of the server on {@code port}: its tar and WAL range. */
  record StockBase(Path tar, int timeline, Lsn startLsn, Lsn stopLsn, java.time.Instant end) {}

  StockBase stockBase(int port, String name) throws IOException {
    Path dir = sharedDir(name);
    run(List.of("pg_basebackup", "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres",
        "-D", dir.resolve("tar").toString(), "-Ft", "-X", "none", "-c", "fast"));
    String manifest = Files.readString(dir.resolve("tar/backup_manifest"));
    var range = java.util.regex.Pattern.compile(
        "\"Timeline\": (\\d+), \"Start-LSN\": \"([0-9A-F/]+)\", \"End-LSN\": \"([0-9A-F/]+)\"").matcher(manifest);
    if (!range.find()) {
      throw new IllegalStateException("no WAL-Ranges in " + manifest);
    }
    return new StockBase(dir.resolve("tar/base.tar"), Integer.parseInt(range.group(1)), Lsn.parse(range.group(2)),
        Lsn.parse(range.group(3)), java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
  }

  @Test
  void a_server_that_dies_between_two_chunks_leaves_what_it_had_sent_stored() throws Exception {
    PostgresCluster primary = PostgresCluster.primary(freePort());
    cleanup.add(primary);
    primary.psql("postgres", "create table numbered(id bigint primary key)");
    ClusterWal cluster = new ClusterWal(ADDON, systemId(primary));
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
    List<StoredWal> stored = wal.list(cluster, 1, SEGMENT);
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

  /** The cluster's system identifier ({@code pg_control_system} shows it as a signed bigint: the same 64 bits). */
  static long systemId(PostgresCluster server) {
    return Long.parseLong(server.psql("postgres", "select system_identifier from pg_control_system()"));
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
