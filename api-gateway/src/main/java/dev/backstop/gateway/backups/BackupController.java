package dev.backstop.gateway.backups;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.bson.types.ObjectId;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** An app's backups: list them, look at one, ask for a manual one. */
@RestController
@RequestMapping("/v1/apps/{appName}/addons/{addonId}/backups")
public class BackupController {

  private final KnownAddons addons;
  private final BackupListing listing;
  private final EventPublisher publisher;
  private final Clock clock;
  private final BackupProgressBoard progress;
  private final BackupWatch watch;

  /** The longest a request may wait for a backup to change: below common proxies' idle timeouts (60 s). */
  static final int MAX_WAIT_SECONDS = 55;

  public BackupController(KnownAddons addons, BackupListing listing, EventPublisher publisher, Clock clock,
      BackupProgressBoard progress, BackupWatch watch) {
    this.progress = progress;
    this.watch = watch;
    this.addons = addons;
    this.listing = listing;
    this.publisher = publisher;
    this.clock = clock;
  }

  /**
   * A backup as the API shows it; sizes in bytes, times in ISO-8601 UTC. {@code progress} only while it
   * runs, from the worker's last report. {@code verified}: true once a restore test passed, false if
   * one failed, null while none has ended (running, or not tested).
   */
  public record BackupView(String id, String createdAt, Long size, String status, String kind, String node,
      String nodeReason, String archiveName, String sha256, String reason, String completedAt, Boolean encrypted,
      ProgressView progress, Boolean verified, VerificationView verification, String targetTime) {

    static BackupView of(Row r, BackupProgressBoard board) {
      ProgressView progress = r.status() != Status.RUNNING ? null : board.of(r.id())
          .map(ProgressView::of).orElse(null);
      return new BackupView(r.id(), str(r.createdAt()), r.size(), r.status().name().toLowerCase(Locale.ROOT),
          r.kind() == null ? null : r.kind().toLowerCase(Locale.ROOT), r.node(), r.nodeReason(), r.archiveName(), r.sha256(),
          r.reason(), str(r.completedAt()),
          r.archiveKey() == null ? null : dev.backstop.kit.archive.ArchiveReader.isEncrypted(r.archiveKey()), progress,
          r.verification() == null ? null : r.verification().passed(),
          r.verification() == null ? null : VerificationView.of(r.verification()), str(r.targetTime()));
    }

    private static String str(Object o) {
      return o == null ? null : o.toString();
    }
  }

  /** The backup's restore test: whether it passed, when it ended, what it found (tables and rows restored, or why it failed). */
  public record VerificationView(boolean passed, String at, String summary, int tables, long rows) {

    static VerificationView of(BackupListing.Verification v) {
      return new VerificationView(v.passed(), v.at() == null ? null : v.at().toString(), v.summary(), v.tables(), v.rows());
    }
  }

  /**
   * How far a running dump has got: bytes read from the database, bytes of archive written, which attempt, when;
   * for a point-in-time restore also its phase ({@code fetching-base}, {@code replaying-wal}, {@code dumping}),
   * the phase's work done of its total, and the seconds the phase should still take.
   */
  public record ProgressView(long dumpedBytes, long storedBytes, int attempt, String at, String phase, Long phaseDone,
      Long phaseTotal, Long etaSeconds) {

    public static ProgressView of(BackupProgressBoard.Progress p) {
      return new ProgressView(p.dumpedBytes(), p.storedBytes(), p.attempt(), p.at().toString(), p.phase(), p.phaseDone(),
          p.phaseTotal(), p.etaSeconds());
    }
  }

  @GetMapping
  public List<BackupView> list(@PathVariable String appName, @PathVariable String addonId) {
    requireAddon(appName, addonId);
    return listing.ofAddon(addonId).stream().map(r -> BackupView.of(r, progress)).toList();
  }

  /**
   * One backup, with an {@code ETag} naming this view of it; {@code 304} when {@code If-None-Match} names
   * the view as it still is.
   */
  @GetMapping("/{backupId}")
  public ResponseEntity<BackupView> one(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId, @RequestHeader(name = HttpHeaders.IF_NONE_MATCH, required = false) String ifNoneMatch) {
    requireAddon(appName, addonId);
    BackupView view = view(addonId, backupId).orElseThrow(() -> noBackup(addonId, backupId));
    return answer(view, ifNoneMatch);
  }

  /**
   * A long poll: as {@link #one}, but while {@code If-None-Match} names the view as it still is, the answer
   * waits up to {@code wait} seconds (1 to {@value #MAX_WAIT_SECONDS}) for it to change (a new status, a
   * progress report, a restore test's outcome), then is the new view at once, or {@code 304} when the wait
   * is over. How the CLI waits for a backup to end without asking again and again.
   */
  @GetMapping(value = "/{backupId}", params = "wait")
  public DeferredResult<ResponseEntity<BackupView>> oneWhenChanged(@PathVariable String appName, @PathVariable String addonId,
      @PathVariable String backupId, @RequestParam("wait") String wait,
      @RequestHeader(name = HttpHeaders.IF_NONE_MATCH, required = false) String ifNoneMatch) {
    Duration timeout = waitOf(wait);
    requireAddon(appName, addonId);
    BackupView known = view(addonId, backupId).orElseThrow(() -> noBackup(addonId, backupId));
    String tag = etag(known);
    var result = new DeferredResult<ResponseEntity<BackupView>>(timeout.toMillis(),
        () -> ResponseEntity.status(HttpStatus.NOT_MODIFIED).eTag(tag).build());
    if (!names(ifNoneMatch, tag)) {
      result.setResult(answer(known, null));
      return result;
    }
    // run on completion whatever ended it: a change, the wait running out, the client gone
    result.onCompletion(watch.watch(backupId, () -> {
      if (result.isSetOrExpired()) {
        return;
      }
      Optional<BackupView> now = view(addonId, backupId);
      if (now.isEmpty()) {
        result.setErrorResult(noBackup(addonId, backupId));
      } else if (!etag(now.get()).equals(tag)) {
        result.setResult(answer(now.get(), null));
      }
    }));
    return result;
  }

  private static ApiProblem noBackup(String addonId, String backupId) {
    return ApiProblem.notFound("no backup " + backupId + " of addon " + addonId);
  }

  private Optional<BackupView> view(String addonId, String backupId) {
    return listing.find(addonId, backupId).map(r -> BackupView.of(r, progress));
  }

  private static ResponseEntity<BackupView> answer(BackupView view, String ifNoneMatch) {
    String tag = etag(view);
    if (names(ifNoneMatch, tag)) {
      return ResponseEntity.status(HttpStatus.NOT_MODIFIED).eTag(tag).build();
    }
    return ResponseEntity.ok().eTag(tag).body(view);
  }

  private static Duration waitOf(String wait) {
    try {
      int seconds = Integer.parseInt(wait.strip());
      if (seconds >= 1 && seconds <= MAX_WAIT_SECONDS) {
        return Duration.ofSeconds(seconds);
      }
    } catch (NumberFormatException e) {
      // refused below, with what to write
    }
    throw ApiProblem.badRequest("wait must be a whole number of seconds from 1 to " + MAX_WAIT_SECONDS + " (got '" + wait
        + "')");
  }

  /** A strong entity tag of the view: every field, the progress included, so any change the listing shows changes it. */
  static String etag(BackupView view) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(view.toString().getBytes(StandardCharsets.UTF_8));
      return "\"" + HexFormat.of().formatHex(digest, 0, 16) + "\"";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether an {@code If-None-Match} value names {@code tag}: {@code *}, or a list of tags compared weakly (RFC 9110 13.1.2). */
  static boolean names(String ifNoneMatch, String tag) {
    if (ifNoneMatch == null) {
      return false;
    }
    for (String candidate : ifNoneMatch.split(",")) {
      String t = candidate.strip();
      if (t.equals("*") || (t.startsWith("W/") ? t.substring(2) : t).equals(tag)) {
        return true;
      }
    }
    return false;
  }

  @PostMapping
  public ResponseEntity<BackupView> create(@PathVariable String appName, @PathVariable String addonId) {
    var addon = requireAddon(appName, addonId);
    if (addon.removed()) {
      throw ApiProblem.conflict("addon-removed", "Addon removed", "addon " + addonId + " was removed: no new backups");
    }
    if (!addon.hasBackups()) {
      throw ApiProblem.conflict("sandbox-has-no-backups", "No backups on Sandbox plans",
          "Sandbox plans have no backups: upgrade addon " + addonId + " to Starter or Business to back it up");
    }
    String id = new ObjectId().toHexString();
    var request = new BackupRequested(id, addonId, appName, BackupKind.MANUAL, clock.instant(), null, null, null);
    publisher.publish(Topics.BACKUP_REQUESTS, addonId, request);
    listing.advance(id, Status.PENDING, BackupEventsConfiguration.requested(request));
    Row row = listing.find(addonId, id).orElseThrow();
    return ResponseEntity.accepted()
        .location(URI.create("/v1/apps/" + appName + "/addons/" + addonId + "/backups/" + id))
        .body(BackupView.of(row, progress));
  }

  private Addon requireAddon(String appName, String addonId) {
    return addons.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
  }
}
