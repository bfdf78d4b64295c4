package dev.backstop.scheduler.messaging;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lte;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Updates;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two scheduler instances on one real broker and one store: every addon gets exactly one request per
 * local day, while both run and after one of them stops, and an entry claimed by an instance that
 * died is taken over once its claim expires.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedulerHighAvailabilityIT {

  private static final List<String> ZONES = List.of("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC");

  private final AdjustableClock clock = new AdjustableClock();
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private MongoClient client;
  private MongoCollection<Document> schedules;
  private ConfigurableApplicationContext first;
  private ConfigurableApplicationContext second;
  private final List<AddonRegistered> addons = new ArrayList<>();
  private Instant registeredAt;

  @BeforeAll
  void start() {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    schedules = client.getDatabase("backstop-scheduler").getCollection("schedules");
    first = startInstance();
    second = startInstance();
  }

  @AfterAll
  void stop() {
    for (var context : new ConfigurableApplicationContext[] {first, second}) {
      if (context != null && context.isActive()) {
        context.close();
      }
    }
    client.close();
    mongo.close();
    kafka.close();
  }

  private ConfigurableApplicationContext startInstance() {
    return SchedulerInstance.start(kafka, mongo, clock, "--backstop.scheduler.tick=PT0.1S", "--backstop.scheduler.batch-size=7");
  }

  @Test
  void two_instances_emit_exactly_one_request_per_addon_per_day_and_one_takes_over_when_the_other_stops() {
    registeredAt = clock.instant();
    for (int i = 0; i < 24; i++) {
      addons.add(Events.registered(
          Events.addon("addon-" + i, "app-" + i, Plan.STARTER, i % 24, ZONES.get(i % ZONES.size())), registeredAt));
    }
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, addons, e -> ((AddonRegistered) e).getAddon().getAddonId());
    await().atMost(Duration.ofSeconds(60)).until(() -> schedules.countDocuments(eq("kind", "SCHEDULED")) == addons.size());

    // two days with both instances, stepping the clock by 5 hours
    for (int step = 0; step < 10; step++) {
      advanceAndAwaitNothingDue(Duration.ofHours(5));
    }
    first.close();
    // an entry claimed by an instance that then died: the survivor takes it over once the claim expires
    Instant now = clock.instant();
    String stuck = "addon-3|SCHEDULED";
    Instant due = schedules.find(eq("_id", stuck)).first().getDate("nextRunAt").toInstant();
    clock.advance(Duration.between(now, due).plusSeconds(1));
    schedules.updateOne(eq("_id", stuck), Updates.combine(Updates.set("claimToken", "dead-instance"),
        Updates.set("claimUntil", Date.from(clock.instant().plusSeconds(45)))));
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
        .until(() -> schedules.find(eq("_id", stuck)).first().getDate("nextRunAt").toInstant().equals(due));
    clock.advance(Duration.ofSeconds(46));
    await().atMost(Duration.ofSeconds(30))
        .until(() -> schedules.find(eq("_id", stuck)).first().getDate("nextRunAt").toInstant().isAfter(clock.instant()));

    // two more days with one instance
    for (int step = 0; step < 10; step++) {
      advanceAndAwaitNothingDue(Duration.ofHours(5));
    }

    Instant end = clock.instant();
    List<BackupRequested> requests = Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, Duration.ofSeconds(3))
        .stream().map(BackupRequested.class::cast).toList();
    Map<String, Long> perId = requests.stream().collect(Collectors.groupingBy(BackupRequested::getBackupId, Collectors.counting()));
    assertThat(perId).allSatisfy((id, count) -> assertThat(count).as("requests with id %s", id).isEqualTo(1));

    for (AddonRegistered registered : addons) {
      var spec = registered.getAddon();
      ZoneId zone = ZoneId.of(spec.getSchedule().getTimezone());
      for (BackupKind kind : List.of(BackupKind.SCHEDULED, BackupKind.PITR_BASE)) {
        RecurringBackup schedule = kind == BackupKind.SCHEDULED
            ? RecurringBackup.daily(spec.getAddonId(), spec.getSchedule().getHour(), zone)
            : RecurringBackup.weekly(spec.getAddonId(), spec.getSchedule().getHour(), zone);
        List<LocalDate> expected = new ArrayList<>();
        for (Instant fire = schedule.nextFireAfter(registeredAt); !fire.isAfter(end); fire = schedule.nextFireAfter(fire)) {
          expected.add(LocalDate.ofInstant(fire, zone));
        }
        List<LocalDate> got = requests.stream()
            .filter(r -> r.getAddonId().equals(spec.getAddonId()) && r.getKind() == kind)
            .map(r -> LocalDate.parse(r.getScheduledFor())).sorted().toList();
        assertThat(got).as("%s requests of %s", kind, spec.getAddonId()).isEqualTo(expected);
      }
    }
    assertThat(requests.stream().filter(r -> r.getKind() == BackupKind.SCHEDULED).count()).isGreaterThanOrEqualTo(24 * 3);
  }

  private void advanceAndAwaitNothingDue(Duration step) {
    clock.advance(step);
    Instant now = clock.instant();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> schedules.countDocuments(lte("nextRunAt", Date.from(now))) == 0);
  }
}
