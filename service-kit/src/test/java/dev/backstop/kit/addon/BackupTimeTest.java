package dev.backstop.kit.addon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class BackupTimeTest {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final Instant WINTER = Instant.parse("2026-11-21T12:00:00Z");
  private static final Instant SUMMER = Instant.parse("2026-07-01T12:00:00Z");

  @ParameterizedTest(name = "\"{0}\" is {1}:00 {2}")
  @CsvSource({
      "3, 3, Europe/Paris",
      "3:00, 3, Europe/Paris",
      "' 4:00 UTC ', 4, UTC",
      "4:00 Europe/Paris, 4, Europe/Paris",
      "23 America/New_York, 23, America/New_York",
      "0:00 UTC, 0, UTC",
      "4:00 utc, 4, UTC",
      "4:00 europe/paris, 4, Europe/Paris"})
  void accepted_forms(String text, int hour, String zone) {
    assertThat(BackupTime.parse(text, PARIS)).isEqualTo(new BackupTime(hour, ZoneId.of(zone)));
  }

  @Test
  void an_hour_alone_is_in_the_callers_zone() {
    assertThat(BackupTime.parse("3", ZoneId.of("Asia/Tokyo")).zone()).isEqualTo(ZoneId.of("Asia/Tokyo"));
  }

  @Test
  void hour_24_is_refused_with_what_is_accepted() {
    assertThatThrownBy(() -> BackupTime.parse("24", PARIS))
        .hasMessage("hour 24 does not exist: use " + BackupTime.ACCEPTED);
  }

  @Test
  void half_hours_are_refused() {
    assertThatThrownBy(() -> BackupTime.parse("4:30", PARIS))
        .hasMessageContaining("on the hour").hasMessageContaining("use 4:00");
  }

  @Test
  void an_unknown_zone_is_refused() {
    assertThatThrownBy(() -> BackupTime.parse("4:00 Mars/Olympus", PARIS))
        .hasMessageContaining("unknown time zone 'Mars/Olympus'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "four", "4pm", "-1", "4:00 UTC extra"})
  void garbage_is_refused(String text) {
    assertThatThrownBy(() -> BackupTime.parse(text, PARIS)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(BackupTime.ACCEPTED);
  }

  @Test
  void described_with_the_zone_abbreviation_of_the_season() {
    assertThat(new BackupTime(6, PARIS).describe(WINTER)).isEqualTo("6:00 CET");
    assertThat(new BackupTime(6, PARIS).describe(SUMMER)).isEqualTo("6:00 CEST");
    assertThat(new BackupTime(4, ZoneId.of("UTC")).describe(WINTER)).isEqualTo("4:00 UTC");
    assertThat(new BackupTime(4, ZoneId.of("America/New_York")).describe(WINTER)).isEqualTo("4:00 EST");
  }

  @Test
  void the_abbreviation_is_that_of_the_next_run_across_a_change() {
    // 2026-10-25 is the fall-back day in Paris: at 02:00 UTC on the 24th, the next 6:00 is in CEST
    assertThat(new BackupTime(6, PARIS).describe(Instant.parse("2026-10-24T02:00:00Z"))).isEqualTo("6:00 CEST");
    // after that day's 6:00, the next one is on the 25th, in CET
    assertThat(new BackupTime(6, PARIS).describe(Instant.parse("2026-10-24T05:00:00Z"))).isEqualTo("6:00 CET");
  }
}
