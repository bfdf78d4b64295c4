package dev.backstop.gateway.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import dev.backstop.gateway.addons.AddonRegistry;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.addon.DailySchedule;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import java.time.ZoneId;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The schedule endpoint on an addon whose daily backups were turned off. */
class ScheduleControllerTest {

  private final KnownAddons catalog = mock(KnownAddons.class);
  private final AddonRegistry registry = mock(AddonRegistry.class);
  private final AtomicReference<DailySchedule> schedule =
      new AtomicReference<>(new DailySchedule(false, new BackupTime(1, ZoneId.of("Europe/Paris"))));
  private final ScheduleController controller =
      new ScheduleController(catalog, registry, Clock.fixed(Instant.parse("2026-11-21T12:00:00Z"), ZoneOffset.UTC));

  ScheduleControllerTest() {
    when(catalog.findForApp(eq("my-app"), eq("pg"))).thenAnswer(i -> Optional.of(addon()));
    when(catalog.find(eq("pg"))).thenAnswer(i -> Optional.of(addon()));
    doAnswer(i -> {
      schedule.set(i.getArgument(1));
      return null;
    }).when(registry).changeSchedule(eq("pg"), any());
  }

  private Addon addon() {
    return new Addon("pg", "my-app", Engine.POSTGRESQL, Plan.STARTER, "db", "u", new Addon.SealedPassword("k", new byte[0]),
        List.of(), schedule.get(), false, 3);
  }

  @Test
  void setting_a_time_on_a_disabled_schedule_turns_it_back_on() {
    var view = controller.set("my-app", "pg", new ScheduleController.ScheduleChange("4:00 utc", null, null, null));
    assertThat(view.enabled()).isTrue();
    assertThat(view.message()).isEqualTo("Periodic backups will be done daily at 4:00 UTC");
  }

  @Test
  void turning_backups_off_keeps_the_time() {
    schedule.set(new DailySchedule(true, new BackupTime(4, ZoneId.of("UTC"))));
    var view = controller.set("my-app", "pg", new ScheduleController.ScheduleChange(null, null, null, false));
    assertThat(view.enabled()).isFalse();
    assertThat(view.hour()).isEqualTo(4);
    assertThat(view.message()).isEqualTo("Periodic backups are disabled");
  }
}
