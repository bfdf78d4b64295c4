package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.Lsn;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.secret.SecretSealer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The window's side of a stream, told what a stream tells (first chunk, a lost slot, a restart past it) with
 * the real stores (in-process MongoDB); events captured instead of sent. The primary is unreachable here
 * (port 1), so no probe answers.
 */
class WindowTrackerScenarioTest {

  static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");
  static final long SYSTEM = 7_400_000_000_000_000_001L;
  static final long SEG = 16L * 1024 * 1024;
  static final String ADDON = "pg-1";

  InProcessMongo mongo;
  MongoClient client;
  StreamLeases leases;
  PitrBases bases;
  WindowPublisher windows;
  List<SpecificRecord> sent = new CopyOnWriteArrayList<>();
  EventPublisher publisher = new EventPublisher(null, () -> "") {
    @Override
    public void publish(String topic, String addonId, SpecificRecord event) {
      sent.add(event);
    }
  };
  Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
  StreamTarget target = new StreamTarget(ADDON, "app-1", "127.0.0.1", 1, "127.0.0.1", 1, List.of(), "postgres", null,
      "Starter: the primary");
  long epoch;

  @BeforeEach
  void setUp() {
    mongo = InProcessMongo.inMemory();
    client = MongoClients.create(mongo.uri());
    MongoDatabase db = client.getDatabase("wal");
    leases = new StreamLeases(db);
    bases = new PitrBases(db);
    SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    AddonsProjection addons = new AddonsProjection(db, sealer);
    addons.apply(new AddonSpec(ADDON, "app-1", Engine.POSTGRESQL, Plan.STARTER, "db", "postgres",
        sealer.seal(ADDON, "pw"), List.of(new DatabaseNode(NodeRole.PRIMARY, "127.0.0.1", 1)),
        new BackupSchedule(true, 1, "UTC")), 1);
    windows = new WindowPublisher(db, addons, bases, leases, publisher, clock, true);
    epoch = leases.claim(ADDON, "me", T0, Duration.ofSeconds(30)).orElseThrow();
  }

  @AfterEach
  void tearDown() {
    client.close();
    mongo.close();
  }

  WindowTracker tracker() {
    return new WindowTracker(target, epoch, "me", leases, bases, windows, publisher, clock, WindowTrackerTest.SETTINGS,
        leases.facts(ADDON));
  }

  List<BackupRequested> requests() {
    return sent.stream().filter(e -> e instanceof BackupRequested).map(e -> (BackupRequested) e).toList();
  }

  PitrWindowChanged lastWindow() {
    return sent.stream().filter(e -> e instanceof PitrWindowChanged).map(e -> (PitrWindowChanged) e).toList().getLast();
  }

  static Lsn lsn(long segment, long offset) {
    return new Lsn(segment * SEG + offset);
  }

  @Test
  void a_new_archive_requests_one_base_after_its_first_chunk_and_a_lost_slot_breaks_the_window_and_requests_another()
      throws Exception {
    WindowTracker tracker = tracker();
    tracker.identified(SYSTEM, SEG);
    tracker.streaming(1, lsn(3, 0));
    tracker.step();
    assertThat(requests()).as("nothing stored yet").isEmpty();
    assertThat(lastWindow().getState()).isEqualTo(PitrState.STARTING);

    tracker.durable(1, lsn(3, 100), -1, new WalStream.Counters(0, 100, 50));
    tracker.step();
    tracker.step();
    assertThat(requests()).singleElement().satisfies(r -> {
      assertThat(r.getBackupId()).isEqualTo(PitrBaseRequestId.of(ADDON, WindowTracker.STARTED, lsn(3, 0), SYSTEM));
      assertThat(r.getAppName()).isEqualTo("app-1");
      assertThat(r.getReason()).contains("WAL archiving started");
    });

    // the server invalidated the slot: the stream reports the gap, then restarts from a fresh slot further on
    tracker.gap(lsn(3, 100), "the server invalidated slot backstop_x: max_slot_wal_keep_size (64MB) exceeded");
    tracker.streaming(1, lsn(9, 0));
    tracker.step();
    assertThat(sent).anyMatch(e -> e instanceof WalGapDetected g && g.getFromLsn() == lsn(3, 100).value());
    assertThat(lastWindow().getState()).isEqualTo(PitrState.BROKEN);
    assertThat(lastWindow().getReason()).contains("invalidated slot");
    assertThat(requests()).as("the new archive has no chunk yet").hasSize(1);

    tracker.durable(1, lsn(9, 4096), -1, new WalStream.Counters(0, 4196, 100));
    tracker.step();
    assertThat(requests()).hasSize(2).last().satisfies(r -> {
      assertThat(r.getBackupId()).isEqualTo(PitrBaseRequestId.of(ADDON, WindowTracker.GAP, lsn(9, 0), SYSTEM));
      assertThat(r.getReason()).contains("gap").contains("invalidated slot");
    });

    // another instance takes over from the saved facts: nothing is requested twice, the window stays broken
    WindowTracker next = tracker();
    next.identified(SYSTEM, SEG);
    next.streaming(1, lsn(9, 0));
    next.durable(1, lsn(9, 8192), -1, new WalStream.Counters(0, 4096, 100));
    next.step();
    assertThat(requests()).hasSize(2);
    assertThat(next.facts().coverageStart()).isEqualTo(lsn(9, 0).value());
    assertThat(windows.refresh(ADDON).orElseThrow().state()).isEqualTo(dev.backstop.pitr.PitrState.BROKEN);
  }

  @Test
  void another_cluster_behind_the_same_addon_restarts_the_archive_as_after_a_gap() throws Exception {
    WindowTracker tracker = tracker();
    tracker.identified(SYSTEM, SEG);
    tracker.streaming(1, lsn(3, 0));
    tracker.durable(1, lsn(5, 0), -1, new WalStream.Counters(2, 2 * SEG, SEG));
    tracker.step();
    assertThat(requests()).hasSize(1);
    bases.completed(dev.backstop.schemas.events.BackupCompleted.newBuilder().setBackupId("base-a").setAddonId(ADDON)
        .setAppName("app-1").setKind(dev.backstop.schemas.events.BackupKind.PITR_BASE).setRequestedAt(T0).setStartedAt(T0)
        .setCompletedAt(T0).setNode("n").setArchiveKey("k").setArchiveName("base").setSizeBytes(1).setSha256("00")
        .setPitrBase(new dev.backstop.schemas.events.PitrBaseInfo(1, lsn(3, 100).value(), lsn(4, 0).value(), 150000,
            SYSTEM, T0.minusSeconds(60))).build());
    tracker.sample(T0, lsn(4, 0));
    leases.saveFacts(ADDON, "me", epoch, tracker.facts());
    windows.refresh(ADDON);
    assertThat(lastWindow().getState()).isEqualTo(PitrState.STREAMING);
    Instant oldLatest = tracker.facts().latest();

    // the stream sees a new system identifier: it reports the gap, then announces the new cluster, whose WAL
    // (re-initialised by initdb) starts where the old cluster's archive started
    tracker.gap(null, "the server's system identifier changed from " + SYSTEM + " to " + (SYSTEM + 1));
    tracker.identified(SYSTEM + 1, SEG);
    tracker.streaming(1, lsn(3, 0));
    tracker.step();
    assertThat(lastWindow().getState()).isEqualTo(PitrState.BROKEN);
    assertThat(lastWindow().getBrokenSince()).as("since the old cluster's latest archived instant").isEqualTo(oldLatest);
    assertThat(lastWindow().getSystemId()).isEqualTo(SYSTEM + 1);
    assertThat(lastWindow().getBases()).as("the old cluster's base restores nothing of the new one").isEmpty();
    assertThat(sent).anyMatch(e -> e instanceof WalGapDetected g && g.getReason().contains("system identifier changed"));

    tracker.durable(1, lsn(3, 500), -1, new WalStream.Counters(0, 500, 100));
    tracker.step();

    StreamFacts facts = tracker.facts();
    assertThat(facts.systemId()).isEqualTo(SYSTEM + 1);
    assertThat(facts.coverageStart()).isEqualTo(lsn(3, 0).value());
    assertThat(requests()).as("a base of the new cluster at once, though its archive starts where the old one's did")
        .hasSize(2).last().satisfies(r -> {
          assertThat(r.getBackupId()).isEqualTo(PitrBaseRequestId.of(ADDON, WindowTracker.GAP, lsn(3, 0), SYSTEM + 1));
          assertThat(r.getReason()).contains("system identifier changed");
        });
  }
}
