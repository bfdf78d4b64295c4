package dev.backstop.notifier.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.MissedFinding;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NotificationsTest {

  private static final Instant AT = Instant.parse("2026-12-01T10:00:00Z");

  /** The windows' store as a map, with the same rule: only a later instant counts. */
  private final Map<String, Instant> lastAt = new HashMap<>();
  private final Map<String, Boolean> lastBroken = new HashMap<>();
  private final PitrWindows windows = (addon, at, broken) -> {
    Instant known = lastAt.get(addon);
    if (known != null && !at.isAfter(known)) {
      return new PitrWindows.Before(true, lastBroken.get(addon), true);
    }
    boolean before = lastBroken.getOrDefault(addon, false);
    lastAt.put(addon, at);
    lastBroken.put(addon, broken);
    return new PitrWindows.Before(known != null, before, false);
  };
  private final Notifications notifications = new Notifications(windows, addon -> Optional.of("app-" + addon));

  @Test
  void a_failed_backup_becomes_the_same_message_every_time_it_is_read() {
    var failed = new BackupFailed("bk-1", "pg", "shop", BackupKind.SCHEDULED, AT, AT.plusSeconds(9), "PRIMARY@db.internal:5432",
        "pg_dump failed: \"quoted\"\nsecond line");

    var first = notifications.of(failed).orElseThrow();
    var again = notifications.of(failed).orElseThrow();

    assertThat(again).isEqualTo(first);
    assertThat(first.id()).matches("msg_[0-9a-f]{32}");
    assertThat(first.type()).isEqualTo("backup.failed");
    assertThat(first.appName()).isEqualTo("shop");
    assertThat(first.body()).isEqualTo("{\"type\":\"backup.failed\",\"timestamp\":\"2026-12-01T10:00:09Z\",\"data\":{\"app\":\"shop\","
        + "\"addon\":\"pg\",\"backupId\":\"bk-1\",\"failedAt\":\"2026-12-01T10:00:09Z\",\"kind\":\"scheduled\","
        + "\"reason\":\"pg_dump failed: \\\"quoted\\\"\\nsecond line\",\"requestedAt\":\"2026-12-01T10:00:00Z\"}}");
    assertThat(first.body()).as("the node is not the customer's business here").doesNotContain("db.internal");
  }

  @Test
  void a_completed_backup_tells_its_size_and_checksum_but_not_where_the_archive_lives() {
    var done = new BackupCompleted("bk-2", "pg", "shop", BackupKind.MANUAL, AT, AT, AT.plusSeconds(30), "PRIMARY@db:5432", null,
        "pg/bk-2/secret-path.tar.zst", "20261201100000_shop.tar.zst", 1234L, "ab12", 3, null, null, null);

    var message = notifications.of(done).orElseThrow();

    assertThat(message.type()).isEqualTo("backup.completed");
    assertThat(message.body()).contains("\"sizeBytes\":1234").contains("\"sha256\":\"ab12\"").doesNotContain("secret-path");
  }

  @Test
  void point_in_time_bases_and_passed_restore_tests_are_not_told() {
    var base = new BackupCompleted("bk-3", "pg", "shop", BackupKind.PITR_BASE, AT, AT, AT, "n", null, "k", "a", 1L, "00", null, null, null, null);
    var passed = new BackupVerified("bk-1", "pg", "shop", AT, true, "restored 2 of 2 tables", 2, 10L, 100L, "w");

    assertThat(notifications.of(base)).isEmpty();
    assertThat(notifications.of(passed)).isEmpty();
  }

  @Test
  void a_failed_restore_test_and_a_missed_day_are_told_with_their_reason() {
    var verified = new BackupVerified("bk-1", "pg", "shop", AT, false, "pg_restore failed: relation missing", 0, 0L, 100L, "w");
    var missed = new BackupMissed("pg:2026-12-01", "pg", "shop", "2026-12-01", AT, AT.plusSeconds(6 * 3600),
        MissedFinding.REQUESTED_AND_FAILED, "bk-1", "connection refused");

    assertThat(notifications.of(verified).orElseThrow().body()).startsWith("{\"type\":\"restore-test.failed\"")
        .contains("\"reason\":\"pg_restore failed: relation missing\"");
    assertThat(notifications.of(missed).orElseThrow().body()).startsWith("{\"type\":\"backup.missed\"")
        .contains("\"finding\":\"requested-and-failed\"").contains("\"localDate\":\"2026-12-01\"").contains("\"reason\":\"connection refused\"");
  }

  @Test
  void a_pitr_window_tells_its_breaks_and_recoveries_only_once_each_even_when_replayed() {
    List<PitrWindowChanged> history = List.of(
        window(PitrState.STARTING, 0), window(PitrState.STREAMING, 10), window(PitrState.STREAMING, 20),
        window(PitrState.BROKEN, 30), window(PitrState.BROKEN, 40), window(PitrState.UNAVAILABLE, 50),
        window(PitrState.STREAMING, 60), window(PitrState.STREAMING, 70));

    List<String> told = history.stream().map(notifications::of).flatMap(Optional::stream).map(Notification::type).toList();
    List<String> replayed = history.stream().map(notifications::of).flatMap(Optional::stream).map(Notification::type).toList();

    assertThat(told).containsExactly("pitr.window-broken", "pitr.window-restored");
    assertThat(replayed).isEmpty();
  }

  private static PitrWindowChanged window(PitrState state, int seconds) {
    return PitrWindowChanged.newBuilder().setAddonId("pg").setState(state).setAt(AT.plusSeconds(seconds)).build();
  }
}
