package dev.backstop.retention.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.retention.RetentionApplication;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Ops replay {@code backstop.backup-events} from offset 0 into a retention service with an empty
 * store: it reaches the kept set the live run reached, deletes no archive the live run kept, and
 * prunes nothing the live run did not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RetentionReplayIT {

  private InProcessKafka kafka;
  private MongoHandle mongo;
  private MongoClient client;
  private Path archives;

  @BeforeAll
  void start() throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    archives = Files.createTempDirectory("retention-replay");
  }

  @AfterAll
  void stop() {
    client.close();
    mongo.close();
    kafka.close();
  }

  private ConfigurableApplicationContext retention(String group, String database, String... more) {
    List<String> args = new ArrayList<>(List.of(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.bindings.addonEvents-in-0.group=" + group,
        "--spring.cloud.stream.bindings.backupEvents-in-0.group=" + group,
        "--spring.mongodb.uri=" + mongo.uri(),
        "--backstop.mongodb.database=" + database,
        "--backstop.archive.directory=" + archives,
        "--backstop.retention.download-grace=PT0S"));
    args.addAll(List.of(more));
    return RetentionApplication.builder().run(args.toArray(String[]::new));
  }

  @Test
  void replaying_the_events_from_offset_0_keeps_what_the_live_run_kept_and_deletes_nothing_else() throws Exception {
    Instant now = Instant.now();
    Random random = new Random(42);
    List<SpecificRecord> addons = List.of(
        Events.registered(Events.addon("biz", "app-b", Plan.BUSINESS, 1, "Europe/Paris"), now.minus(Duration.ofDays(120))),
        Events.registered(Events.addon("start", "app-s", Plan.STARTER, 3, "America/New_York"), now.minus(Duration.ofDays(120))));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, addons, e -> ((AddonRegistered) e).getAddon().getAddonId());

    List<SpecificRecord> history = new ArrayList<>();
    for (int day = 100; day >= 1; day--) {
      for (String addon : List.of("biz", "start")) {
        Instant at = now.minus(Duration.ofDays(day)).plusSeconds(random.nextInt(3600));
        history.add(outcome(addon, "s-" + addon + "-" + day, BackupKind.SCHEDULED, at, random.nextInt(9) != 0));
        if (random.nextInt(3) == 0) {
          history.add(outcome(addon, "m-" + addon + "-" + day, BackupKind.MANUAL, at.plusSeconds(900), true));
        }
      }
    }
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, history, RetentionReplayIT::addonOf);

    var live = retention("retention", "backstop-retention");
    ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("retention"), List.of(Topics.ADDONS, Topics.BACKUP_EVENTS), Duration.ofSeconds(90));
    // the live run evaluates events this old once its reading has settled (settle-time, 10 s), so its last
    // prunes may follow the catch-up: what it did is read once its prunes have stopped for longer than that
    var seen = new java.util.concurrent.atomic.AtomicReference<List<String>>(List.of());
    await().pollInterval(Duration.ofSeconds(1)).during(Duration.ofSeconds(12)).atMost(Duration.ofSeconds(90))
        .until(() -> {
          List<String> prunes = pruned();
          return !prunes.isEmpty() && prunes.equals(seen.getAndSet(prunes));
        });
    Set<String> archivesAfterLive = archiveFiles();
    Set<String> keptLive = kept("backstop-retention");
    List<String> prunedLive = pruned();
    live.close();

    assertThat(prunedLive).as("the live run pruned").isNotEmpty().doesNotHaveDuplicates();
    assertThat(keptLive).as("the live run kept").hasSizeBetween(10, 120);
    assertThat(archivesAfterLive).hasSize((int) history.stream().filter(BackupCompleted.class::isInstance)
        .map(e -> ((BackupCompleted) e).getBackupId()).filter(keptLive::contains).count());

    // every event now counts as old: the replay defers its evaluations until it has read the whole topic
    var replay = retention("retention-replay", "backstop-retention-replay",
        "--backstop.retention.catch-up-age=PT0S", "--backstop.retention.settle-time=PT2S");
    ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("retention-replay"), List.of(Topics.ADDONS, Topics.BACKUP_EVENTS),
        Duration.ofSeconds(90));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(kept("backstop-retention-replay")).as("kept by the replay").isEqualTo(keptLive));
    // one more settle period: deferred evaluations found nothing more to prune
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> kept("backstop-retention-replay").equals(keptLive));
    replay.close();

    assertThat(archiveFiles()).as("archives after the replay").isEqualTo(archivesAfterLive);
    assertThat(pruned()).as("the replay prunes nothing again").containsExactlyInAnyOrderElementsOf(prunedLive);
  }

  private BackupCompleted completed(String addon, String id, BackupKind kind, Instant at) throws Exception {
    String key = addon + "/" + id + "/archive.tar.gz";
    Path file = archives.resolve(key);
    Files.createDirectories(file.getParent());
    Files.writeString(file, id);
    return new BackupCompleted(id, addon, "app", kind, at, at, at.plusSeconds(30), "PRIMARY@db:5432", null, key, id + ".tar.gz", 2L, "00", null, null, null, null);
  }

  private SpecificRecord outcome(String addon, String id, BackupKind kind, Instant at, boolean ok) throws Exception {
    return ok ? completed(addon, id, kind, at)
        : new BackupFailed(id, addon, "app", kind, at, at.plusSeconds(5), null, "connection refused");
  }

  private static String addonOf(SpecificRecord event) {
    return event instanceof BackupCompleted c ? c.getAddonId() : ((BackupFailed) event).getAddonId();
  }

  private Set<String> archiveFiles() throws Exception {
    try (var files = Files.walk(archives)) {
      return files.filter(Files::isRegularFile).map(p -> archives.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private Set<String> kept(String database) {
    Set<String> kept = new TreeSet<>();
    client.getDatabase(database).getCollection("retention").find().forEach(addon ->
        addon.get("backups", org.bson.Document.class).values().stream().map(org.bson.Document.class::cast)
            .filter(b -> !b.getBoolean("pruned", false))
            .forEach(b -> kept.add(b.getString("id"))));
    return kept;
  }

  private List<String> pruned() {
    return Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, Duration.ofSeconds(2)).stream()
        .filter(BackupPruned.class::isInstance).map(e -> ((BackupPruned) e).getBackupId()).toList();
  }
}
