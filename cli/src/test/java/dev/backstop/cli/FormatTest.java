package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

class FormatTest {

  @Test
  void the_backups_table_looks_like_the_reference_one() {
    String table = Format.table(List.of("ID", "CREATED AT", "SIZE", "STATUS"), List.of(
        Format.row("65710b0a99c3cd23d455edee", Format.createdAt("2023-12-07T00:00:10Z", ZoneId.of("Europe/Paris")),
            Format.size(143_000), "done")), 0, Format.CREATED_AT_WIDTH, 0, 0);
    // the reference's sample, line for line
    assertThat(table).isEqualTo("""
        +--------------------------+--------------------------------+--------+--------+
        |            ID            |           CREATED AT           |  SIZE  | STATUS |
        +--------------------------+--------------------------------+--------+--------+
        | 65710b0a99c3cd23d455edee | Thu, 07 Dec 2023 01:00:10 CET  | 143 kB | done   |
        +--------------------------+--------------------------------+--------+--------+
        """);
  }

  @Test
  void sizes_are_decimal_in_listings_and_binary_in_progress() {
    assertThat(Format.size(999)).isEqualTo("999 B");
    assertThat(Format.size(1_500)).isEqualTo("1.5 kB");
    assertThat(Format.size(82_854_982)).isEqualTo("83 MB");
    assertThat(Format.binarySize(142_715)).isEqualTo("139.37 KiB");
    assertThat(Format.progress(142_715, 142_715)).isEqualTo("139.37 KiB / 139.37 KiB [" + "-".repeat(34) + "] 100.00% ? p/s");
  }

  @Test
  void the_addons_table_shows_the_product_and_plan_names_as_the_reference_does() {
    String table = Format.table(List.of("ADDON", "ID", "PLAN", "STATUS"), List.of(
        Format.row(Format.product("postgresql"), "ad-871546ad-943a-4929-9770-ec7c839d65f5", Format.planName("postgresql", "starter"),
            "running")));
    assertThat(table).isEqualTo("""
        +------------+-----------------------------------------+--------------------+---------+
        |   ADDON    |                   ID                    |        PLAN        | STATUS  |
        +------------+-----------------------------------------+--------------------+---------+
        | PostgreSQL | ad-871546ad-943a-4929-9770-ec7c839d65f5 | postgresql-starter | running |
        +------------+-----------------------------------------+--------------------+---------+
        """);
    assertThat(Format.product("mysql")).isEqualTo("MySQL");
  }

  @Test
  void a_window_starting_mid_second_is_shown_from_the_next_whole_second_which_pitr_restore_accepts() {
    // earliest 16:42:13.946: "16:42:13" typed back would be refused as before the window
    assertThat(Format.pitrWindow("streaming", "2026-12-01T16:42:13.946Z", "2026-12-01T16:42:18.351Z", null, ZoneId.of("UTC")))
        .isEqualTo("""
            -----> Point-in-time recovery: streaming
                   Restorable from Tue, 01 Dec 2026 16:42:14 UTC to Tue, 01 Dec 2026 16:42:18 UTC
            """);
  }

  @Test
  void the_pitr_window_is_shown_in_the_users_time_zone_with_its_state_and_reason() {
    assertThat(Format.pitrWindow("streaming", "2026-11-24T10:00:29Z", "2026-12-01T15:10:00Z", null, ZoneId.of("Europe/Paris")))
        .isEqualTo("""
            -----> Point-in-time recovery: streaming
                   Restorable from Tue, 24 Nov 2026 11:00:29 CET to Tue, 01 Dec 2026 16:10:00 CET
            """);
    assertThat(Format.pitrWindow("unavailable", null, null, "Sandbox plans have no point-in-time recovery", ZoneId.of("UTC")))
        .isEqualTo("""
            -----> Point-in-time recovery: unavailable
                   Sandbox plans have no point-in-time recovery
            """);
  }
}
