package dev.backstop.gateway.retention;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.gateway.pitr.PitrProjection;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.retention.policy.PlanHistory;
import dev.backstop.retention.policy.RetentionDecision;
import dev.backstop.retention.policy.RetentionPolicy;
import dev.backstop.retention.policy.ScheduledDates;
import dev.backstop.retention.policy.StoredBackup;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/**
 * Why each backup of an addon is still there: the rules keeping it and the date it would expire if
 * nothing changed, and a dry run of the next evaluation. It runs the very policy the retention
 * service applies, on the same records (the listing is built from the same events).
 */
@RestController
public class RetentionController {

  private final KnownAddons addons;
  private final BackupListing listing;
  private final PitrProjection pitr;
  private final Clock clock;

  public RetentionController(KnownAddons addons, BackupListing listing, PitrProjection pitr, Clock clock) {
    this.addons = addons;
    this.listing = listing;
    this.pitr = pitr;
    this.clock = clock;
  }

  /** One backup and what keeps it. */
  public record KeptBackup(String id, String kind, String status, String takenAt, List<String> keptBy, String expiresAt) {}

  /** A backup the next evaluation would delete, and why. */
  public record WouldPrune(String id, String reason) {}

  /** The explanation of an addon's backups at {@code evaluatedAt}. */
  public record RetentionView(String plan, String timezone, String evaluatedAt, List<KeptBackup> backups,
      List<WouldPrune> nextEvaluation) {}

  @GetMapping("/v1/apps/{appName}/addons/{addonId}/retention")
  public RetentionView explain(@PathVariable String appName, @PathVariable String addonId) {
    var addon = addons.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
    Plan plan = addon.plan();
    ZoneId zone = addon.schedule().at().zone();
    Instant now = clock.instant();
    List<Row> rows = listing.ofAddon(addonId).stream()
        .filter(r -> r.status() == Status.DONE || r.status() == Status.FAILED)
        .toList();
    // point-in-time base backups are not in the listing, but retention keeps them by rules of their own
    List<PitrProjection.StoredBase> bases = pitr.bases(addonId).stream()
        .filter(b -> "done".equals(b.status()) && b.startedAt() != null)
        .toList();
    List<StoredBackup> stored = java.util.stream.Stream.concat(rows.stream().map(r -> stored(addonId, r)),
        bases.stream().map(b -> new StoredBackup(b.id(), BackupKind.PITR_BASE, true, b.startedAt(), null, b.endTime()))).toList();
    List<StoredBackup> pruned = listing.prunedOf(addonId).stream().map(r -> stored(addonId, r)).toList();
    // the same inputs the retention service decides on: each backup judged by the plan it was taken under
    RetentionDecision decision = RetentionPolicy.evaluate(planHistory(addonId, plan), zone, now, stored, pruned);

    List<KeptBackup> kept = java.util.stream.Stream.concat(rows.stream()
        .filter(r -> decision.kept().containsKey(r.id()))
        .map(r -> new KeptBackup(r.id(), r.kind().toLowerCase(Locale.ROOT), r.status().name().toLowerCase(Locale.ROOT),
            takenAt(r).toString(),
            decision.kept().get(r.id()).stream().map(RetentionDecision.Reason::text).toList(),
            decision.expiresAt(r.id()) == null ? null : decision.expiresAt(r.id()).toString())),
        bases.stream()
            .filter(b -> decision.kept().containsKey(b.id()))
            .map(b -> new KeptBackup(b.id(), "pitr_base", "done", b.startedAt().toString(),
                decision.kept().get(b.id()).stream().map(RetentionDecision.Reason::text).toList(),
                decision.expiresAt(b.id()) == null ? null : decision.expiresAt(b.id()).toString())))
        .toList();
    List<WouldPrune> wouldPrune = decision.pruned().stream()
        .map(p -> new WouldPrune(p.backup().backupId(), p.reason()))
        .toList();
    return new RetentionView(plan.name().toLowerCase(Locale.ROOT), zone.getId(), now.toString(), kept, wouldPrune);
  }

  /** The plans of every revision the gateway applied; an addon recorded before histories were kept has always had its plan. */
  private PlanHistory planHistory(String addonId, Plan plan) {
    List<PlanHistory.Change> changes = addons.planChanges(addonId).stream()
        .map(c -> new PlanHistory.Change(c.at(), c.plan()))
        .toList();
    return changes.isEmpty() ? PlanHistory.always(plan) : new PlanHistory(changes);
  }

  /**
   * The record retention decides on: taken when the dump started, or when it failed; a scheduled
   * backup stands for the date it was scheduled for, read back from its id as the service does.
   */
  private static StoredBackup stored(String addonId, Row r) {
    BackupKind kind = BackupKind.valueOf(r.kind());
    Instant takenAt = takenAt(r);
    return new StoredBackup(r.id(), kind, succeeded(r), takenAt, ScheduledDates.derive(addonId, r.id(), kind, takenAt));
  }

  private static Instant takenAt(Row r) {
    if (succeeded(r) && r.startedAt() != null) {
      return r.startedAt();
    }
    return r.completedAt() != null ? r.completedAt() : r.createdAt();
  }

  /** A pruned backup no longer says whether it had succeeded: one with an archive had. */
  private static boolean succeeded(Row r) {
    return r.status() == Status.DONE || r.status() == Status.PRUNED && r.archiveKey() != null;
  }
}
