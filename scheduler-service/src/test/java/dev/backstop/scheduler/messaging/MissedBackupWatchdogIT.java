package dev.backstop.scheduler.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.scheduler.missed.MissedBackupRule;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.scheduler.schedule.ScheduledBackupId;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.MissedFinding;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongo;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The watchdog on the real in-process broker and store, with the scheduler's own ticker requesting
 * backups and the test playing the dump worker: a day that passes with no request, a failed backup,
 * one never started, one stuck and one completed each give the right verdict, exactly once; replaying
 * the topics, into the same state or into a state rebuilt from nothing, reports nothing again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MissedBackupWatchdogIT {

  private static final List<String> GROUPS = List.of("scheduler");
  private static final List<String> TOPICS = List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS);

  private final AdjustableClock clock = new AdjustableClock();
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private MongoClient client;
  private ConfigurableApplicationContext scheduler;

  @BeforeAll
  void start() {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    scheduler = startScheduler();
  }

  @AfterAll
  void stop() {
    if (scheduler != null && scheduler.isActive()) {
      scheduler.close();
    }
    client.close();
    mongo.close();
    kafka.close();
  }

  private ConfigurableApplicationContext startScheduler() {
    return SchedulerInstance.start(kafka, mongo, clock, "--backstop.scheduler.tick=PT0.1S");
  }

  private MongoDatabase store() {
    return client.getDatabase("backstop-scheduler");
  }

  @Test
  void each_day_without_a_backup_is_reported_once_with_what_was_found_and_a_replay_reports_nothing_again() throws Exception {
    Instant registeredAt = clock.instant();
    int hour = registeredAt.atZone(ZoneOffset.UTC).plusHours(2).getHour();
    List<String> ids = List.of("pg-fine", "pg-manual", "pg-failed", "pg-unstarted", "pg-stuck");
    List<SpecificRecord> addons = new ArrayList<>();
    for (String id : ids) {
      addons.add(Events.registered(Events.addon(id, "shop", Plan.STARTER, hour, "UTC"), registeredAt));
    }
    addons.add(Events.registered(Events.addon("sbx", "shop", Plan.SANDBOX, hour, "UTC"), registeredAt));
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, addons, e -> ((AddonRegistered) e).getAddon().getAddonId());
    await().atMost(Duration.ofSeconds(30)).until(() -> store().getCollection("missed-watch").countDocuments() == addons.size());

    // the scheduler is "down" over the first day: the clock jumps past the second day's run, so the catch-up
    // requests the second day only and the first one is never requested
    Map<String, RecurringBackup> schedules = ids.stream().collect(Collectors.toMap(id -> id,
        id -> RecurringBackup.daily(id, hour, ZoneOffset.UTC)));
    LocalDate first = LocalDate.ofInstant(schedules.get("pg-fine").nextFireAfter(registeredAt), ZoneOffset.UTC);
    LocalDate second = first.plusDays(1);
    Instant lastSecondRun = schedules.values().stream().map(s -> s.fireTime(second)).max(Instant::compareTo).orElseThrow();
    clock.advance(Duration.between(clock.instant(), lastSecondRun.plus(Duration.ofHours(1))));
    await().atMost(Duration.ofSeconds(30)).until(() -> store().getCollection("scheduled-backups").countDocuments() == ids.size());
    await().atMost(Duration.ofSeconds(30)).until(() -> store().getCollection("missed-backups").countDocuments() == ids.size());
    assertThat(reports()).as("the first day, judged at its run + 6 h").hasSize(ids.size())
        .allSatisfy(r -> assertThat(r.getFinding()).isEqualTo(MissedFinding.NEVER_REQUESTED))
        .allSatisfy(r -> assertThat(r.getLocalDate()).isEqualTo(first.toString()));

    // the test plays the worker for the second day's requests
    Instant now = clock.instant();
    List<SpecificRecord> work = new ArrayList<>();
    String fine = ScheduledBackupId.of("pg-fine", second, "SCHEDULED");
    work.add(new BackupStarted(fine, "pg-fine", "shop", BackupKind.SCHEDULED, now, now, "PRIMARY@db:5432", null, "w1"));
    work.add(new BackupCompleted(fine, "pg-fine", "shop", BackupKind.SCHEDULED, now, now, now.plusSeconds(30),
        "PRIMARY@db:5432", null, "k", "a.tar.zst", 10L, "00", null, null, null, null));
    work.add(new BackupCompleted("manual-1", "pg-manual", "shop", BackupKind.MANUAL, now, now, now.plusSeconds(30),
        "PRIMARY@db:5432", null, "k", "a.tar.zst", 10L, "00", null, null, null, null));
    String failed = ScheduledBackupId.of("pg-failed", second, "SCHEDULED");
    work.add(new BackupStarted(failed, "pg-failed", "shop", BackupKind.SCHEDULED, now, now, "PRIMARY@db:5432", null, "w1"));
    work.add(new BackupFailed(failed, "pg-failed", "shop", BackupKind.SCHEDULED, now, now.plusSeconds(5), "PRIMARY@db:5432",
        "connection refused"));
    String stuck = ScheduledBackupId.of("pg-stuck", second, "SCHEDULED");
    work.add(new BackupStarted(stuck, "pg-stuck", "shop", BackupKind.SCHEDULED, now, now, "PRIMARY@db:5432", null, "w1"));
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, work, e -> (String) ((org.apache.avro.generic.GenericRecord) e).get("addonId"));
    ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), GROUPS, TOPICS, Duration.ofSeconds(30));

    clock.advance(Duration.ofHours(6));
    await().atMost(Duration.ofSeconds(30)).until(() -> store().getCollection("missed-backups").countDocuments() == ids.size() + 3);
    Map<String, BackupMissed> secondDay = reports().stream().filter(r -> r.getLocalDate().equals(second.toString()))
        .collect(Collectors.toMap(BackupMissed::getAddonId, r -> r));
    assertThat(secondDay).containsOnlyKeys("pg-failed", "pg-unstarted", "pg-stuck");
    assertThat(secondDay.get("pg-failed").getFinding()).isEqualTo(MissedFinding.REQUESTED_AND_FAILED);
    assertThat(secondDay.get("pg-failed").getDetail()).isEqualTo("connection refused");
    assertThat(secondDay.get("pg-failed").getBackupId()).isEqualTo(failed);
    assertThat(secondDay.get("pg-unstarted").getFinding()).isEqualTo(MissedFinding.REQUESTED_NEVER_STARTED);
    assertThat(secondDay.get("pg-stuck").getFinding()).isEqualTo(MissedFinding.STUCK_RUNNING);
    assertThat(secondDay.get("pg-stuck").getScheduledAt()).isEqualTo(schedules.get("pg-stuck").fireTime(second));
    assertThat(secondDay.get("pg-stuck").getMissedId()).isEqualTo(MissedBackupRule.missedId("pg-stuck", second));
    int reported = reports().size();
    assertThat(reported).isEqualTo(ids.size() + 3);

    // replay into the same state: the group reads all three topics again from offset 0
    replay(false);
    assertThat(reports()).as("no second report after a replay into the same state").hasSize(reported);

    // replay into a state rebuilt from nothing: the reports are read back, old days are not judged again
    replay(true);
    await().atMost(Duration.ofSeconds(30)).until(() -> store().getCollection("missed-backups").countDocuments() == reported);
    assertThat(reports()).as("no second report after a replay into a new state").hasSize(reported);
    assertThat(reports().stream().collect(Collectors.groupingBy(BackupMissed::getMissedId, Collectors.counting())))
        .allSatisfy((id, count) -> assertThat(count).isEqualTo(1));
  }

  /** Stops the scheduler, rewinds its group to offset 0 (and drops its store), starts it again and lets it tick. */
  private void replay(boolean fromNothing) throws Exception {
    scheduler.close();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      // the closed members may take a moment to leave the group
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> admin.deleteConsumerGroups(GROUPS).all().get());
    }
    if (fromNothing) {
      store().drop();
    }
    scheduler = startScheduler();
    ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), GROUPS, TOPICS, Duration.ofSeconds(60));
    clock.advance(Duration.ofMinutes(1));
    // ticks every 0.1 s: a second is plenty for one to judge whatever it would
    Thread.sleep(1000);
  }

  private List<BackupMissed> reports() {
    return Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, Duration.ofSeconds(2)).stream()
        .filter(BackupMissed.class::isInstance).map(BackupMissed.class::cast).toList();
  }
}
