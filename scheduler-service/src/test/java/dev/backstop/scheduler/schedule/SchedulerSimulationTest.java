package dev.backstop.scheduler.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A scheduler ticking every 15 minutes for 14 months, simulated with the same stepping the ticker uses,
 * in zones with daylight saving (Paris, New York), a half-hour shift (Lord Howe) and none (UTC), at
 * every hour of the day.
 */
class SchedulerSimulationTest {

  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant END = Instant.parse("2027-03-01T00:00:00Z");
  private static final Duration TICK = Duration.ofMinutes(15);

  static Stream<Arguments> zonesAndHours() {
    return Stream.of("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC")
        .flatMap(zone -> Stream.of(0, 1, 2, 3, 12, 23).map(hour -> Arguments.of(zone, hour)));
  }

  /** Runs the ticker's stepping; {@code down} says whether the scheduler is down at a tick. */
  private static Map<LocalDate, List<Instant>> simulate(RecurringBackup schedule, java.util.function.Predicate<Instant> down) {
    Map<LocalDate, List<Instant>> requests = new HashMap<>();
    Instant nextRunAt = schedule.nextFireAfter(START);
    for (Instant now = START; now.isBefore(END); now = now.plus(TICK)) {
      if (down.test(now)) {
        continue;
      }
      var due = schedule.dueAt(nextRunAt, now);
      if (due.isPresent()) {
        requests.computeIfAbsent(due.get().date(), d -> new ArrayList<>()).add(now);
        nextRunAt = due.get().nextRunAt();
      }
    }
    return requests;
  }

  @ParameterizedTest(name = "{0} at {1}:00: one request per local day, on time")
  @MethodSource("zonesAndHours")
  void every_local_day_gets_exactly_one_request_within_a_tick_of_its_time(String zoneId, int hour) {
    ZoneId zone = ZoneId.of(zoneId);
    RecurringBackup schedule = RecurringBackup.daily("addon-" + zoneId + hour, hour, zone);

    var requests = simulate(schedule, now -> false);

    LocalDate first = LocalDate.ofInstant(schedule.nextFireAfter(START), zone);
    LocalDate last = schedule.latestDueDate(END.minus(TICK));
    for (LocalDate day = first; !day.isAfter(last); day = day.plusDays(1)) {
      assertThat(requests.get(day)).as("requests for %s", day).hasSize(1);
      Instant at = requests.get(day).get(0);
      assertThat(at).isAfterOrEqualTo(schedule.fireTime(day)).isBefore(schedule.fireTime(day).plus(TICK));
      assertThat(LocalDate.ofInstant(schedule.fireTime(day), zone)).isEqualTo(day);
    }
    assertThat(requests).hasSize((int) (last.toEpochDay() - first.toEpochDay() + 1));
  }

  @ParameterizedTest(name = "{0} at {1}:00: downtime never doubles a day nor leaves a backlog")
  @MethodSource("zonesAndHours")
  void downtime_never_doubles_a_day_and_a_long_outage_owes_one_request(String zoneId, int hour) {
    ZoneId zone = ZoneId.of(zoneId);
    RecurringBackup schedule = RecurringBackup.daily("addon-" + hour, hour, zone);
    Random random = new Random(zoneId.hashCode() * 31L + hour);
    List<Instant[]> outages = new ArrayList<>();
    for (Instant t = START; t.isBefore(END); t = t.plus(Duration.ofDays(10 + random.nextInt(20)))) {
      // outages from 30 minutes to 4 days
      outages.add(new Instant[] {t, t.plus(Duration.ofMinutes(30 + random.nextInt(4 * 24 * 60)))});
    }
    var requests = simulate(schedule, now -> outages.stream().anyMatch(o -> !now.isBefore(o[0]) && now.isBefore(o[1])));

    requests.forEach((day, at) -> assertThat(at).as("requests for %s", day).hasSize(1));
    LocalDate first = LocalDate.ofInstant(schedule.nextFireAfter(START), zone);
    LocalDate last = schedule.latestDueDate(END.minus(Duration.ofDays(5)));
    for (LocalDate day = first; !day.isAfter(last); day = day.plusDays(1)) {
      if (!requests.containsKey(day)) {
        // skipped only when the scheduler was down from this day's time until after the next day's
        Instant fire = schedule.fireTime(day);
        Instant nextFire = schedule.fireTime(day.plusDays(1));
        assertThat(outages).as("%s was skipped", day)
            .anyMatch(o -> !fire.isBefore(o[0]) && fire.isBefore(o[1]) && !o[1].plus(TICK).isBefore(nextFire));
      }
    }
    for (Instant[] outage : outages) {
      long emittedInOutage = requests.values().stream().flatMap(List::stream)
          .filter(at -> !at.isBefore(outage[0]) && at.isBefore(outage[1])).count();
      assertThat(emittedInOutage).isZero();
      // right after an outage at most one catch-up request, for the latest day that was due
      long catchUp = requests.values().stream().flatMap(List::stream)
          .filter(at -> !at.isBefore(outage[1]) && at.isBefore(outage[1].plus(TICK))).count();
      assertThat(catchUp).isLessThanOrEqualTo(1);
    }
  }
}
