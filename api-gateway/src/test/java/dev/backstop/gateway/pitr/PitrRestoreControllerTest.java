package dev.backstop.gateway.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.MissedBackups;
import dev.backstop.gateway.backups.BackupListing.Stage;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.backups.BackupProgressBoard;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.addon.DailySchedule;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.http.HttpStatus;

/** Point-in-time restore requests against an addon whose window is known, and how a restore is followed. */
class PitrRestoreControllerTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  static final Instant NOW = Instant.parse("2026-12-01T15:00:00Z");
  static final Instant EARLIEST = Instant.parse("2026-11-24T15:00:00Z");
  static final Instant LATEST = Instant.parse("2026-12-01T14:59:59Z");

  final KnownAddons addons = mock(KnownAddons.class);
  final List<SpecificRecord> published = new ArrayList<>();
  final BackupListing listing;
  final BackupProgressBoard board = new BackupProgressBoard();
  final PitrProjection windows;
  final MissedBackups missed;
  final PitrRestoreController controller;

  PitrRestoreControllerTest() {
    var database = mongo.fresh("pitr");
    listing = new BackupListing(database);
    windows = new PitrProjection(database);
    missed = new MissedBackups(database);
    EventPublisher publisher = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String key, SpecificRecord event) {
        published.add(event);
      }
    };
    controller = new PitrRestoreController(addons, listing, board, windows, publisher, Clock.fixed(NOW, ZoneOffset.UTC));
    when(addons.findForApp(eq("app"), eq("pg"))).thenReturn(Optional.of(addon("pg", Engine.POSTGRESQL, Plan.STARTER)));
    when(addons.findForApp(eq("app"), eq("sandbox"))).thenReturn(Optional.of(addon("sandbox", Engine.POSTGRESQL, Plan.SANDBOX)));
    when(addons.findForApp(eq("app"), eq("my"))).thenReturn(Optional.of(addon("my", Engine.MYSQL, Plan.BUSINESS)));
    windows.window(new PitrWindowChanged("pg", PitrState.STREAMING, EARLIEST, LATEST, null, null, null, null, List.of(), NOW));
  }

  static Addon addon(String id, Engine engine, Plan plan) {
    return new Addon(id, "app", engine, plan, "db", "u", new Addon.SealedPassword("k", new byte[0]), List.of(),
        new DailySchedule(true, new BackupTime(1, ZoneId.of("UTC"))), false, 1);
  }

  @Test
  void a_target_inside_the_window_is_requested_and_followed_to_its_backup() {
    var created = controller.create("app", "pg", new PitrRestoreController.RestoreRequest("2026-12-01T15:02:30+01:00"));
    assertThat(created.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
    String id = created.getBody().id();
    BackupRequested request = (BackupRequested) published.getFirst();
    assertThat(request.getKind()).isEqualTo(BackupKind.PITR_RESTORE);
    assertThat(request.getPitr().getTargetTime()).isEqualTo(Instant.parse("2026-12-01T14:02:30Z"));
    assertThat(request.getPitr().getRestoreInto()).isNull();
    assertThat(controller.one("app", "pg", id).status()).isEqualTo("pending");

    Stage stage = Stage.requested("pg", "app", "PITR_RESTORE", NOW).restoringTo(request.getPitr().getTargetTime());
    listing.advance(id, Status.RUNNING, stage.started("scratch server", "restored to …", NOW));
    board.report(new BackupProgress(id, "pg", "app", NOW, 0L, 0L, 1, "w", "replaying-wal", 48L << 20, 96L << 20, 12L));
    var running = controller.one("app", "pg", id);
    assertThat(running.status()).isEqualTo("running");
    assertThat(running.phase()).isEqualTo("replaying-wal");
    assertThat(running.progress()).isEqualTo(new PitrRestoreController.PhaseProgress(48L << 20, 96L << 20, 12L));

    listing.advance(id, Status.DONE, stage.started("scratch server", null, NOW).completed(10L, "sha", "k", "n", NOW));
    var done = controller.one("app", "pg", id);
    assertThat(done.status()).isEqualTo("done");
    assertThat(done.backupId()).isEqualTo(id);
    assertThat(done.targetTime()).isEqualTo("2026-12-01T14:02:30Z");
    assertThat(listing.find("pg", id).orElseThrow().targetTime()).isEqualTo(Instant.parse("2026-12-01T14:02:30Z"));
  }

  @Test
  void a_target_before_the_earliest_instant_is_refused_with_the_window() {
    assertThatThrownBy(() -> controller.create("app", "pg", new PitrRestoreController.RestoreRequest("2026-11-20T10:00:00Z")))
        .isInstanceOfSatisfying(ApiProblem.class, p -> {
          assertThat(p.getStatusCode().value()).isEqualTo(422);
          assertThat(p.getBody().getDetail()).contains("before the earliest restorable instant").contains(EARLIEST.toString());
          assertThat(p.getBody().getProperties()).containsEntry("earliest", EARLIEST.toString()).containsEntry("latest", LATEST.toString());
        });
    assertThat(published).isEmpty();
  }

  @Test
  void a_target_in_the_future_or_after_the_latest_instant_is_refused() {
    assertThatThrownBy(() -> controller.create("app", "pg", new PitrRestoreController.RestoreRequest("2026-12-01T15:00:01Z")))
        .isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.getBody().getDetail()).contains("in the future"));
    assertThatThrownBy(() -> controller.create("app", "pg", new PitrRestoreController.RestoreRequest("2026-12-01T14:59:59.500Z")))
        .isInstanceOfSatisfying(ApiProblem.class, p -> {
          assertThat(p.getStatusCode().value()).isEqualTo(422);
          assertThat(p.getBody().getDetail()).contains("after the latest restorable instant");
        });
    assertThat(published).isEmpty();
  }

  @Test
  void sandbox_and_mysql_addons_have_no_point_in_time_recovery() {
    for (String addon : List.of("sandbox", "my")) {
      assertThatThrownBy(() -> controller.create("app", addon, new PitrRestoreController.RestoreRequest("2026-12-01T14:00:00Z")))
          .isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.getStatusCode().value()).isEqualTo(409));
    }
  }

  @Test
  void a_time_without_offset_or_finer_than_milliseconds_is_a_bad_request() {
    for (String bad : List.of("2026-12-01 14:00:00", "yesterday", "2026-12-01T14:00:00.0001Z")) {
      assertThatThrownBy(() -> controller.create("app", "pg", new PitrRestoreController.RestoreRequest(bad)))
          .isInstanceOfSatisfying(ApiProblem.class, p -> assertThat(p.getStatusCode().value()).isEqualTo(400));
    }
  }

  @Test
  void an_older_window_event_replayed_after_a_newer_one_changes_nothing() {
    windows.window(new PitrWindowChanged("pg", PitrState.BROKEN, null, null, "gap", null, null, null, List.of(),
        NOW.minusSeconds(3600)));
    assertThat(windows.window("pg").orElseThrow().earliest()).isEqualTo(EARLIEST);
  }

  @Test
  void a_completed_restore_is_listed_with_its_target_time() {
    BackupCompleted completed = new BackupCompleted("r1", "pg", "app", BackupKind.PITR_RESTORE, NOW, NOW, NOW, "scratch server",
        null, "pg/r1/x.tar.zst", "x.tar.zst", 1L, "sha", 1, null, Instant.parse("2026-12-01T14:02:30Z"), null);
    try (var watch = new dev.backstop.gateway.backups.BackupWatch()) {
      new dev.backstop.gateway.backups.BackupEventsConfiguration().backupEvents(listing, board, missed, windows, watch)
          .accept(completed);
    }
    assertThat(listing.ofAddon("pg")).singleElement().satisfies(r -> {
      assertThat(r.kind()).isEqualTo("PITR_RESTORE");
      assertThat(r.targetTime()).isEqualTo(Instant.parse("2026-12-01T14:02:30Z"));
    });
  }
}
