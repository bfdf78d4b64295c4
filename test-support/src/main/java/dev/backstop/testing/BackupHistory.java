package dev.backstop.testing;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import dev.backstop.schemas.serde.EventSerializer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A history of addons and backups as the services would have published it, for replays: addons of both
 * engines and every plan (some changed, some removed), and backups over 100 days, scheduled and manual,
 * done or failed, restore-tested (passed and failed; every one completed in the last two days, as the
 * verifier would have), plus requests pending and running of a kind no worker here runs (a newer producer's
 * kind, read as UNKNOWN: the dump worker leaves it to whoever runs it). No backup is in flight for the dump
 * worker, which runs every kind it knows, point-in-time base backups and restores included: a replay must run none.
 * Every record is stamped with its event's own time.
 */
public final class BackupHistory {

  /** One event and the record key and time it is published with. */
  public record Stamped(String key, Instant at, SpecificRecord event) {}

  private record AddonLife(String id, String app, Engine engine, Instant from, Instant to) {}

  private static final List<String> ZONES = List.of("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo");

  private final List<Stamped> addonEvents = new ArrayList<>();
  private final List<Stamped> requests = new ArrayList<>();
  private final List<Stamped> outcomes = new ArrayList<>();
  private final Instant now;

  private BackupHistory(Instant now) {
    this.now = now;
  }

  /**
   * {@code backups} backups over {@code addons} addons up to {@code now}. Each addon's hour is at least three
   * hours away from {@code now} in its zone, so no scheduled backup falls due for a while. Completed backups'
   * archives are written under {@code archives} (a file per backup) unless it is null.
   */
  public static BackupHistory generate(int addons, int backups, Instant now, Path archives) {
    BackupHistory history = new BackupHistory(now);
    Random random = new Random(18);
    Instant start = now.minus(Duration.ofDays(100));
    List<AddonLife> lives = new ArrayList<>();
    for (int i = 0; i < addons; i++) {
      String id = "addon-" + i;
      Engine engine = i % 3 == 0 ? Engine.MYSQL : Engine.POSTGRESQL;
      Plan plan = i % 10 == 0 ? Plan.SANDBOX : i % 3 == 1 ? Plan.BUSINESS : Plan.STARTER;
      String zone = ZONES.get(i % ZONES.size());
      Instant registered = start.minus(Duration.ofDays(1));
      history.addonEvents.add(new Stamped(id, registered, new AddonRegistered("reg-" + id, 1L, registered,
          spec(id, engine, plan, zone, history.hourAwayFromNow(zone, i), true))));
      Instant end = now.minus(Duration.ofHours(3));
      if (i % 7 == 3) {
        Instant changed = now.minus(Duration.ofDays(50));
        Plan newPlan = plan == Plan.BUSINESS ? Plan.STARTER : plan == Plan.STARTER ? Plan.BUSINESS : plan;
        history.addonEvents.add(new Stamped(id, changed, new AddonChanged("chg-" + id, 2L, changed,
            spec(id, engine, newPlan, zone, history.hourAwayFromNow(zone, i + 5), i % 2 == 0))));
      }
      if (i % 11 == 5) {
        Instant removed = now.minus(Duration.ofDays(20));
        history.addonEvents.add(new Stamped(id, removed, new AddonRemoved("rm-" + id, 3L, removed, id, "app-" + i)));
        end = removed.minus(Duration.ofHours(1));
      }
      if (plan != Plan.SANDBOX) {
        lives.add(new AddonLife(id, "app-" + i, engine, start, end));
      }
    }
    int perAddon = backups / lives.size() + 1;
    for (int b = 0; b < backups; b++) {
      AddonLife addon = lives.get(b % lives.size());
      int j = b / lives.size();
      Duration step = Duration.between(addon.from(), addon.to()).dividedBy(perAddon);
      Instant requested = addon.from().plus(step.multipliedBy(j)).plusSeconds(random.nextInt(600));
      String backupId = String.format("b-%s-%05d", addon.id(), j);
      BackupKind kind = b % 50 == 7 && addon.engine() == Engine.POSTGRESQL ? BackupKind.UNKNOWN
          : j % 5 == 4 ? BackupKind.MANUAL : BackupKind.SCHEDULED;
      history.requests.add(new Stamped(addon.id(), requested, new BackupRequested(backupId, addon.id(), addon.app(), kind,
          requested, kind == BackupKind.SCHEDULED ? requested.atZone(ZoneId.of("UTC")).toLocalDate().toString() : null, null, null)));
      Instant started = requested.plusSeconds(2);
      String node = "PRIMARY@db-" + addon.id() + ":5432";
      if (kind == BackupKind.UNKNOWN) {
        if (j % 2 == 0) {
          history.outcomes.add(new Stamped(addon.id(), started, new BackupStarted(backupId, addon.id(), addon.app(), kind,
              requested, started, node, null, "pitr")));
        }
        continue;
      }
      history.outcomes.add(new Stamped(addon.id(), started, new BackupStarted(backupId, addon.id(), addon.app(), kind,
          requested, started, node, "primary: starter plan", "worker-1")));
      if (random.nextInt(100) < 12) {
        Instant failed = started.plusSeconds(5);
        history.outcomes.add(new Stamped(addon.id(), failed, new BackupFailed(backupId, addon.id(), addon.app(), kind,
            requested, failed, node, "connection refused")));
        continue;
      }
      Instant completed = started.plusSeconds(30 + random.nextInt(60));
      String key = addon.id() + "/" + backupId + "/archive.tar.zst";
      if (archives != null) {
        writeArchive(archives.resolve(key), backupId);
      }
      history.outcomes.add(new Stamped(addon.id(), completed, new BackupCompleted(backupId, addon.id(), addon.app(), kind,
          requested, started, completed, node, null, key, backupId + ".tar.zst", 1000L + j, "ab".repeat(32), 3, null, null, null)));
      if (completed.isAfter(now.minus(Duration.ofDays(2))) || random.nextInt(10) < 3) {
        Instant verified = completed.plusSeconds(20);
        boolean passed = random.nextInt(5) != 0;
        history.outcomes.add(new Stamped(addon.id(), verified, new BackupVerified(backupId, addon.id(), addon.app(), verified,
            passed, passed ? "restored 3 of 3 tables, 1,000 rows" : "pg_restore: error: could not read input file",
            passed ? 3 : 0, passed ? 1000L : 0L, 800L, "worker-1")));
      }
    }
    Comparator<Stamped> byTime = Comparator.comparing(Stamped::at);
    history.addonEvents.sort(byTime);
    history.outcomes.sort(byTime);
    history.requests.sort(byTime);
    return history;
  }

  /** The instant halfway through the backups. */
  public Instant middle() {
    return now.minus(Duration.ofDays(50));
  }

  public int records() {
    return addonEvents.size() + requests.size() + outcomes.size();
  }

  /**
   * Declares the topics as the services do (before anything is written: auto-creation would make one
   * partition), then publishes the addons, the backup events and the requests; returns how many records.
   */
  public int publish(String bootstrapServers, int partitions) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers));
        var producer = new KafkaProducer<String, SpecificRecord>(Map.of("bootstrap.servers", bootstrapServers,
            "linger.ms", 20, "acks", "all", "max.in.flight.requests.per.connection", 1), new StringSerializer(), new EventSerializer())) {
      admin.createTopics(Topics.definitions(partitions, (short) 1)).all().get();
      awaitLeaders(admin);
      send(producer, Topics.ADDONS, addonEvents);
      send(producer, Topics.BACKUP_EVENTS, outcomes);
      send(producer, Topics.BACKUP_REQUESTS, requests);
    } catch (Exception e) {
      throw new IllegalStateException("could not publish the history", e);
    }
    return records();
  }

  /**
   * Waits until every partition of the new topics has a leader: a fresh broker answers the first produce
   * requests with NOT_LEADER_OR_FOLLOWER, and an idempotent producer's retried batches could then be
   * refused for ever as out of sequence (seen as a one-minute timeout). One request in flight keeps the
   * retries in order too.
   */
  private static void awaitLeaders(Admin admin) {
    List<String> names = Topics.definitions(1, (short) 1).stream().map(org.apache.kafka.clients.admin.NewTopic::name).toList();
    org.awaitility.Awaitility.await("a leader for every partition of the new topics").atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> admin.describeTopics(names).allTopicNames().get().values().stream()
            .flatMap(topic -> topic.partitions().stream()).allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
  }

  private static void send(KafkaProducer<String, SpecificRecord> producer, String topic, List<Stamped> events) throws Exception {
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    for (Stamped e : events) {
      sent.add(producer.send(new ProducerRecord<>(topic, null, e.at().toEpochMilli(), e.key(), e.event())));
      if (sent.size() == 10_000) {
        for (Future<RecordMetadata> f : sent) {
          f.get(1, TimeUnit.MINUTES);
        }
        sent.clear();
      }
    }
    for (Future<RecordMetadata> f : sent) {
      f.get(1, TimeUnit.MINUTES);
    }
  }

  private static void writeArchive(Path file, String content) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static AddonSpec spec(String id, Engine engine, Plan plan, String zone, int hour, boolean enabled) {
    int port = engine == Engine.MYSQL ? 3306 : 5432;
    List<DatabaseNode> nodes = plan == Plan.BUSINESS
        ? List.of(new DatabaseNode(NodeRole.PRIMARY, "db-" + id, port), new DatabaseNode(NodeRole.SECONDARY, "db-" + id + "-r", port))
        : List.of(new DatabaseNode(NodeRole.PRIMARY, "db-" + id, port));
    return new AddonSpec(id, "app-" + id.substring("addon-".length()), engine, plan, "db_" + id.replace('-', '_'), "user",
        new SealedSecret("test", ByteBuffer.wrap(new byte[] {1, 2, 3})), nodes, new BackupSchedule(enabled, hour, zone));
  }

  private int hourAwayFromNow(String zone, int salt) {
    int hourNow = ZonedDateTime.ofInstant(now, ZoneId.of(zone)).getHour();
    return (hourNow + 3 + salt % 18) % 24;
  }
}
