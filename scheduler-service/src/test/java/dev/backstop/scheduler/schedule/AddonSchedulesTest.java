package dev.backstop.scheduler.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.scheduler.catalog.ScheduleCatalog;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Schedule entries follow the addon: its plan, engine, time and removal. */
class AddonSchedulesTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private static final Instant NOW = Instant.parse("2026-06-01T10:00:00Z");

  private static Addon addon(String id, Plan plan, int hour, long revision) {
    return Addon.of(Events.addon(id, "shop", plan, hour, "Europe/Paris"), revision);
  }

  @Test
  void a_paid_postgresql_addon_gets_its_daily_and_weekly_entries_at_its_time_a_mysql_one_no_weekly_base_and_a_sandbox_one_none() {
    ScheduleCatalog catalog = new ScheduleCatalog(mongo.fresh("schedules"));
    AddonSchedules schedules = new AddonSchedules(catalog, Clock.fixed(NOW, ZoneOffset.UTC));
    schedules.apply(addon("paid", Plan.STARTER, 3, 1));
    schedules.apply(addon("free", Plan.SANDBOX, 3, 1));
    var mysql = Events.addon("my", "shop", Plan.BUSINESS, 3, "Europe/Paris");
    mysql.setEngine(dev.backstop.schemas.events.Engine.MYSQL);
    schedules.apply(Addon.of(mysql, 1));

    List<ScheduleCatalog.Entry> due = catalog.claimDue(NOW.plus(Duration.ofDays(8)), 10);

    // point-in-time base backups are for PostgreSQL Starter and Business only
    assertThat(due).extracting(ScheduleCatalog.Entry::id)
        .containsExactlyInAnyOrder("paid|SCHEDULED", "paid|PITR_BASE", "my|SCHEDULED");
    assertThat(due).allSatisfy(e -> {
      assertThat(e.appName()).isEqualTo("shop");
      assertThat(e.at()).isEqualTo(new BackupTime(3, ZoneId.of("Europe/Paris")));
    });
    ScheduleCatalog.Entry daily = due.stream().filter(e -> e.id().equals("paid|SCHEDULED")).findFirst().orElseThrow();
    assertThat(daily.nextRunAt()).isEqualTo(RecurringBackup.daily("paid", 3, ZoneId.of("Europe/Paris")).nextFireAfter(NOW));
  }

  @Test
  void a_removed_addon_is_never_due_again_and_a_late_older_revision_does_not_bring_it_back() {
    ScheduleCatalog catalog = new ScheduleCatalog(mongo.fresh("schedules"));
    AddonSchedules schedules = new AddonSchedules(catalog, Clock.fixed(NOW, ZoneOffset.UTC));
    schedules.apply(addon("gone", Plan.BUSINESS, 3, 1));
    schedules.remove("gone", 2);
    schedules.apply(addon("gone", Plan.BUSINESS, 4, 1));

    assertThat(catalog.claimDue(NOW.plus(Duration.ofDays(30)), 10)).isEmpty();
  }

  @Test
  void a_handled_entry_remembers_the_date_it_requested_and_moves_on() {
    ScheduleCatalog catalog = new ScheduleCatalog(mongo.fresh("schedules"));
    new AddonSchedules(catalog, Clock.fixed(NOW, ZoneOffset.UTC)).apply(addon("daily", Plan.STARTER, 3, 1));
    Instant later = NOW.plus(Duration.ofDays(1));
    var entry = catalog.claimDue(later, 10).stream().filter(e -> e.kind() == BackupKind.SCHEDULED).findFirst().orElseThrow();
    var next = RecurringBackup.daily("daily", 3, ZoneId.of("Europe/Paris")).dueAt(entry.nextRunAt(), later).orElseThrow();

    assertThat(catalog.advance(List.of(new ScheduleCatalog.Advance(entry, next.date(), next.nextRunAt())))).isEqualTo(1);

    var again = catalog.claimDue(next.nextRunAt(), 10).stream().filter(e -> e.kind() == BackupKind.SCHEDULED).findFirst().orElseThrow();
    assertThat(again.lastRequestedFor()).isEqualTo(next.date());
    assertThat(again.nextRunAt()).isEqualTo(next.nextRunAt());
  }
}
