package dev.backstop.gateway.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import dev.backstop.gateway.addons.AddonCatalog;
import dev.backstop.gateway.addons.AddonRegistry;
import dev.backstop.schemas.events.BackupSchedule;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The schedule endpoint on an addon whose daily backups were turned off. */
class ScheduleControllerTest {

  private final AddonCatalog catalog = mock(AddonCatalog.class);
  private final AddonRegistry registry = mock(AddonRegistry.class);
  private final AtomicReference<Document> schedule =
      new AtomicReference<>(new Document("enabled", false).append("hour", 1).append("timezone", "Europe/Paris"));
  private final ScheduleController controller =
      new ScheduleController(catalog, registry, Clock.fixed(Instant.parse("2026-11-21T12:00:00Z"), ZoneOffset.UTC));

  ScheduleControllerTest() {
    when(catalog.findForApp(eq("my-app"), eq("pg"))).thenAnswer(i -> Optional.of(addon()));
    when(catalog.find(eq("pg"))).thenAnswer(i -> Optional.of(addon()));
    doAnswer(i -> {
      BackupSchedule s = i.getArgument(1);
      schedule.set(new Document("enabled", s.getEnabled()).append("hour", s.getHour()).append("timezone", s.getTimezone()));
      return null;
    }).when(registry).changeSchedule(eq("pg"), any());
  }

  private AddonCatalog.Addon addon() {
    return new AddonCatalog.Addon("pg", "my-app", "POSTGRESQL", "STARTER", "db", List.of(), schedule.get(), false, 3);
  }

  @Test
  void setting_a_time_on_a_disabled_schedule_turns_it_back_on() {
    var view = controller.set("my-app", "pg", new ScheduleController.ScheduleChange("4:00 utc", null, null, null));
    assertThat(view.enabled()).isTrue();
    assertThat(view.message()).isEqualTo("Periodic backups will be done daily at 4:00 UTC");
  }

  @Test
  void turning_backups_off_keeps_the_time() {
    schedule.set(new Document("enabled", true).append("hour", 4).append("timezone", "UTC"));
    var view = controller.set("my-app", "pg", new ScheduleController.ScheduleChange(null, null, null, false));
    assertThat(view.enabled()).isFalse();
    assertThat(view.hour()).isEqualTo(4);
    assertThat(view.message()).isEqualTo("Periodic backups are disabled");
  }
}
