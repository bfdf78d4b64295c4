package dev.backstop.scheduler.messaging;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lte;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.scheduler.SchedulerApplication;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongo;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A fault of docs/reliability.md: the scheduler down for six hours, across the hour of a quarter of the
 * customers. Back up, it requests each backup it missed, once (late, not lost), and nothing more when it
 * is restarted again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedulerCatchUpIT {

  private final AdjustableClock clock = new AdjustableClock();
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private MongoClient client;
  private MongoCollection<Document> schedules;

  @BeforeAll
  void start() {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    schedules = client.getDatabase("backstop-scheduler").getCollection("schedules");
  }

  @AfterAll
  void stop() {
    client.close();
    mongo.close();
    kafka.close();
  }

  private ConfigurableApplicationContext scheduler() {
    return SchedulerApplication.builder()
        .initializers(context -> context.getBeanFactory().registerSingleton("clock", clock))
        .run("--spring.main.web-application-type=none",
            "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
            "--spring.mongodb.uri=" + mongo.uri(),
            "--backstop.scheduler.tick=PT0.1S");
  }

  @Test
  void a_scheduler_down_across_customers_hours_requests_each_missed_backup_once_when_back() {
    ConfigurableApplicationContext scheduler = scheduler();
    Instant registeredAt = clock.instant();
    List<AddonRegistered> addons = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      addons.add(Events.registered(Events.addon("addon-" + i, "app-" + i, Plan.STARTER, i, "UTC"), registeredAt));
    }
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS, addons, e -> ((AddonRegistered) e).getAddon().getAddonId());
    await().atMost(Duration.ofSeconds(60)).until(() -> schedules.countDocuments(eq("kind", "SCHEDULED")) == addons.size());

    scheduler.close();
    Instant down = clock.instant();
    clock.advance(Duration.ofHours(6));
    Instant back = clock.instant();
    // the backups whose time came while it was down: one each, for that day
    Set<String> owed = new TreeSet<>();
    for (AddonRegistered registered : addons) {
      String addon = registered.getAddon().getAddonId();
      RecurringBackup daily = RecurringBackup.daily(addon, registered.getAddon().getSchedule().getHour(), ZoneId.of("UTC"));
      Instant fire = daily.nextFireAfter(down);
      if (!fire.isAfter(back)) {
        owed.add(addon + "@" + LocalDate.ofInstant(fire, ZoneId.of("UTC")));
      }
    }

    scheduler = scheduler();
    await().atMost(Duration.ofSeconds(60)).until(() -> schedules.countDocuments(lte("nextRunAt", Date.from(back))) == 0);
    scheduler.close();
    // and once more: a restart owes nothing
    scheduler = scheduler();
    Instant later = clock.instant();
    await().atMost(Duration.ofSeconds(30)).until(() -> schedules.countDocuments(lte("nextRunAt", Date.from(later))) == 0);
    scheduler.close();

    List<BackupRequested> requests = Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, Duration.ofSeconds(2))
        .stream().map(BackupRequested.class::cast).filter(r -> r.getKind() == BackupKind.SCHEDULED).toList();
    Map<String, Long> perId = requests.stream().collect(Collectors.groupingBy(BackupRequested::getBackupId, Collectors.counting()));
    Set<String> got = requests.stream().map(r -> r.getAddonId() + "@" + r.getScheduledFor()).collect(Collectors.toCollection(TreeSet::new));
    long lost = owed.stream().filter(o -> !got.contains(o)).count();
    long duplicated = perId.values().stream().mapToLong(n -> n - 1).sum();
    long unowed = got.stream().filter(g -> !owed.contains(g)).count();
    System.out.printf("scheduler down 6 h: requested %d (owed %d), lost %d, duplicated %d, not owed %d%n",
        requests.size(), owed.size(), lost, duplicated, unowed);
    assertThat(owed).as("backups whose hour came while the scheduler was down").hasSizeBetween(5, 7);
    assertThat(lost).as("lost").isZero();
    assertThat(duplicated).as("duplicated").isZero();
    assertThat(unowed).as("requested without being owed").isZero();
    assertThat(requests).allSatisfy(r -> assertThat(r.getRequestedAt()).as("requested once back").isAfterOrEqualTo(back));
  }
}
