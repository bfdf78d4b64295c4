package dev.backstop.notifier.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.notifier.config.NotifierProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class RetryScheduleTest {

  @Test
  void the_default_schedule_retries_for_about_a_day_then_gives_up() {
    NotifierProperties defaults = new Binder(new MapConfigurationPropertySource(Map.of()))
        .bindOrCreate("backstop.notifier", Bindable.of(NotifierProperties.class));
    RetrySchedule schedule = new RetrySchedule(defaults.retryDelays());
    Instant at = Instant.parse("2026-12-01T00:00:00Z");

    Instant last = at;
    int attempt = 1;
    for (Instant next = schedule.after(attempt, last); next != null; next = schedule.after(++attempt, last)) {
      assertThat(next).isAfter(last);
      last = next;
    }

    assertThat(attempt).isEqualTo(schedule.attempts());
    assertThat(Duration.between(at, last)).isBetween(Duration.ofHours(20), Duration.ofHours(30));
  }
}
