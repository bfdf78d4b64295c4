package dev.backstop.gateway.pitr;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Stage;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.backups.BackupProgressBoard;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.PitrRequest;
import dev.backstop.schemas.events.RestoreTarget;
import dev.backstop.schemas.events.Plan;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import org.bson.types.ObjectId;
import org.springframework.http.ResponseEntity;
import org.springframework.validation.annotation.Validated;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Point-in-time restores of an app's addon (issue #17): ask for the database as it was at an instant inside
 * the recoverable window, then follow the restore. The result is a backup of kind {@code pitr_restore} under
 * the same id, listed and downloadable like any backup.
 */
@RestController
@Validated
@RequestMapping("/v1/apps/{appName}/addons/{addonId}/pitr/restores")
public class PitrRestoreController {

  private final KnownAddons addons;
  private final BackupListing listing;
  private final BackupProgressBoard progress;
  private final PitrProjection windows;
  private final EventPublisher publisher;
  private final Clock clock;

  public PitrRestoreController(KnownAddons addons, BackupListing listing, BackupProgressBoard progress,
      PitrProjection windows, EventPublisher publisher, Clock clock) {
    this.addons = addons;
    this.listing = listing;
    this.progress = progress;
    this.windows = windows;
    this.publisher = publisher;
    this.clock = clock;
  }

  /** {@code targetTime}: an RFC 3339 instant with its offset, at most millisecond precision. */
  public record RestoreRequest(@Size(max = 64) String targetTime) {}

  /** Work done in the current phase, of its total (bytes; WAL bytes while replaying), and the seconds it should still take. */
  public record PhaseProgress(Long done, Long total, Long etaSeconds) {}

  /**
   * A restore as the API shows it. {@code backupId}: the backup holding the result, once done (download it
   * like any backup); {@code reason}: why it failed.
   */
  public record RestoreView(String id, String status, String targetTime, String phase, PhaseProgress progress,
      String reason, String backupId) {}

  @PostMapping
  public ResponseEntity<RestoreView> create(@PathVariable String appName, @PathVariable String addonId,
      @RequestBody @jakarta.validation.Valid RestoreRequest body) {
    Addon addon = requireAddon(appName, addonId);
    RestoreView view = request(addon, body == null ? null : body.targetTime(), null);
    return ResponseEntity.accepted()
        .location(URI.create("/v1/apps/" + appName + "/addons/" + addonId + "/pitr/restores/" + view.id()))
        .body(view);
  }

  /**
   * Checks and publishes a restore of {@code addon} to {@code targetTime}, also into {@code into} when an
   * operator named a database (null otherwise): the same refusals (409, 422, 400) whoever asks.
   */
  public RestoreView request(Addon addon, String targetTime, RestoreTarget into) {
    if (addon.removed()) {
      throw ApiProblem.conflict("addon-removed", "Addon removed", "addon " + addon.id() + " was removed");
    }
    if (addon.engine() != Engine.POSTGRESQL || addon.plan() == Plan.SANDBOX) {
      throw ApiProblem.conflict("pitr-unavailable", "No point-in-time recovery",
          "point-in-time recovery is only for PostgreSQL addons on Starter and Business plans");
    }
    Instant target = parse(targetTime);
    Instant now = clock.instant();
    if (target.isAfter(now)) {
      throw ApiProblem.unprocessable("pitr-target-in-future", "Target time in the future",
          target + " is in the future: a restore can only go back in time").with("targetTime", target.toString());
    }
    refuseOutsideWindow(addon.id(), target);
    String id = new ObjectId().toHexString();
    var request = new BackupRequested(id, addon.id(), addon.appName(), BackupKind.PITR_RESTORE, now, null,
        new PitrRequest(target, into), null);
    publisher.publish(Topics.BACKUP_REQUESTS, addon.id(), request);
    listing.advance(id, Status.PENDING, Stage.requested(addon.id(), addon.appName(), BackupKind.PITR_RESTORE.name(), now)
        .restoringTo(target));
    return new RestoreView(id, "pending", target.toString(), null, null, null, null);
  }

  @GetMapping("/{restoreId}")
  public RestoreView one(@PathVariable String appName, @PathVariable String addonId, @PathVariable String restoreId) {
    requireAddon(appName, addonId);
    return find(addonId, restoreId);
  }

  /** A restore of {@code addonId} as the API shows it, or 404. */
  public RestoreView find(String addonId, String restoreId) {
    Row row = listing.find(addonId, restoreId).filter(r -> BackupKind.PITR_RESTORE.name().equals(r.kind()))
        .orElseThrow(() -> ApiProblem.notFound("no point-in-time restore " + restoreId + " of addon " + addonId));
    return view(row, progress);
  }

  static RestoreView view(Row row, BackupProgressBoard board) {
    String target = row.targetTime() == null ? null : row.targetTime().toString();
    return switch (row.status()) {
      case PENDING -> new RestoreView(row.id(), "pending", target, null, null, null, null);
      case RUNNING -> board.of(row.id())
          .map(p -> new RestoreView(row.id(), "running", target, p.phase(), new PhaseProgress(p.phaseDone(), p.phaseTotal(),
              p.etaSeconds()), null, null))
          .orElse(new RestoreView(row.id(), "running", target, null, null, null, null));
      case DONE -> new RestoreView(row.id(), "done", target, null, null, null, row.id());
      case FAILED -> new RestoreView(row.id(), "failed", target, null, null, row.reason(), null);
      case PRUNED -> new RestoreView(row.id(), "done", target, null, null, "its archive has been deleted since", null);
    };
  }

  private void refuseOutsideWindow(String addonId, Instant target) {
    var window = windows.window(addonId).orElse(null);
    if (window == null || window.earliest() == null) {
      String state = window == null ? "starting" : window.state().toLowerCase(Locale.ROOT);
      throw ApiProblem.unprocessable("pitr-outside-window", "Outside the recoverable window",
          "addon " + addonId + " has no restorable range yet (point-in-time recovery is " + state
              + (window != null && window.reason() != null ? ": " + window.reason() : "") + ")");
    }
    Instant latest = window.latest();
    String range = "the restorable range is " + window.earliest() + " to " + (latest == null ? "now" : latest);
    if (target.isBefore(window.earliest())) {
      throw outside(target + " is before the earliest restorable instant: " + range, window);
    }
    if (latest != null && target.isAfter(latest)) {
      throw outside(target + " is after the latest restorable instant: " + range, window);
    }
  }

  private static ApiProblem outside(String detail, PitrProjection.StoredWindow window) {
    return ApiProblem.unprocessable("pitr-outside-window", "Outside the recoverable window", detail)
        .with("earliest", window.earliest().toString())
        .with("latest", window.latest() == null ? null : window.latest().toString());
  }

  static Instant parse(String text) {
    if (text == null || text.isBlank()) {
      throw ApiProblem.badRequest("targetTime is required: an RFC 3339 instant, e.g. 2026-12-01T14:02:30Z");
    }
    Instant target;
    try {
      target = OffsetDateTime.parse(text.strip()).toInstant();
    } catch (DateTimeParseException e) {
      throw ApiProblem.badRequest("targetTime must be an RFC 3339 instant with its offset, e.g. 2026-12-01T14:02:30Z");
    }
    if (!target.truncatedTo(ChronoUnit.MILLIS).equals(target)) {
      // dropping digits would move the instant back and leave out commits the caller asked for
      throw ApiProblem.badRequest("targetTime has at most millisecond precision");
    }
    return target;
  }

  private Addon requireAddon(String appName, String addonId) {
    return addons.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
  }
}
