package dev.backstop.gateway.pitr;

import dev.backstop.gateway.pitr.PitrProjection.StoredBase;
import dev.backstop.gateway.pitr.PitrProjection.StoredWindow;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/**
 * An addon's point-in-time recovery window: for the app ({@code /v1/apps/{app}/addons/{id}/pitr}:
 * state, earliest and latest restorable instants, why, the bases the window rests on) and for operators
 * ({@code /v1/addons/{id}/pitr}: also the slot warning, the cluster's system id and every base backup with
 * its WAL range). Built from the wal-archiver's {@code PitrWindowChanged} and the bases' backup events
 * ({@link PitrProjection}); what the addon is (engine, plan) comes from the gateway's own addon view, so
 * Sandbox and MySQL addons say {@code unavailable} whatever was published before they changed.
 */
@RestController
public class PitrController {

  static final String STARTING_REASON = "waiting for the first base backup and its WAL to be archived";

  private final KnownAddons addons;
  private final PitrProjection projection;

  public PitrController(KnownAddons addons, PitrProjection projection) {
    this.addons = addons;
    this.projection = projection;
  }

  /** A base backup the window can restore from, as customers see it. */
  public record BaseView(String id, String restorableFrom) {}

  /** The window, as customers see it. Instants are RFC 3339 in UTC; null while unknown. */
  public record PitrView(String state, String earliest, String latest, String reason, List<BaseView> baseBackups) {}

  /** A base backup as operators see it: where it was taken, its WAL range, whether the window counts it. */
  public record OperatorBaseView(String id, String status, String requestedAt, String startedAt, String completedAt,
      String endTime, String node, String nodeReason, Long sizeBytes, Integer timeline, String startLsn, String stopLsn,
      Integer serverVersionNum, String systemId, boolean usable, String reason) {}

  /** The window with what operators need. */
  public record OperatorPitrView(String addonId, String appName, String state, String earliest, String latest, String reason,
      String brokenSince, String slotWarning, String systemId, String updatedAt, List<OperatorBaseView> baseBackups) {}

  @GetMapping("/v1/apps/{appName}/addons/{addonId}/pitr")
  public PitrView window(@PathVariable String appName, @PathVariable String addonId) {
    Addon addon = addons.findForApp(appName, addonId)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
    String unavailable = unavailable(addon);
    if (unavailable != null) {
      return new PitrView("unavailable", null, null, unavailable, List.of());
    }
    Optional<StoredWindow> window = projection.window(addonId);
    if (window.isEmpty()) {
      return new PitrView("starting", null, null, STARTING_REASON, List.of());
    }
    StoredWindow w = window.get();
    return new PitrView(state(w), text(w.earliest()), text(w.latest()), w.reason(),
        w.bases().stream().map(b -> new BaseView(b.backupId(), text(b.endTime()))).toList());
  }

  @GetMapping("/v1/addons/{addonId}/pitr")
  public OperatorPitrView operatorWindow(@PathVariable String addonId) {
    Addon addon = addons.find(addonId).orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
    Optional<StoredWindow> window = projection.window(addonId);
    Set<String> usable = window.map(w -> w.bases().stream().map(PitrProjection.WindowBase::backupId).collect(Collectors.toSet()))
        .orElse(Set.of());
    List<OperatorBaseView> bases = projection.bases(addonId).stream().map(b -> operatorBase(b, usable.contains(b.id()))).toList();
    String unavailable = unavailable(addon);
    if (unavailable != null || window.isEmpty()) {
      return new OperatorPitrView(addonId, addon.appName(), unavailable != null ? "unavailable" : "starting", null, null,
          unavailable != null ? unavailable : STARTING_REASON, null, null, null, null, bases);
    }
    StoredWindow w = window.get();
    return new OperatorPitrView(addonId, addon.appName(), state(w), text(w.earliest()), text(w.latest()), w.reason(),
        text(w.brokenSince()), w.slotWarning(), w.systemId() == null ? null : Long.toUnsignedString(w.systemId()), text(w.at()),
        bases);
  }

  /** Why an addon has no point-in-time recovery at all; null when it has. */
  static String unavailable(Addon addon) {
    if (addon.engine() != Engine.POSTGRESQL) {
      return "point-in-time recovery is offered for PostgreSQL addons only";
    }
    if (addon.plan() == Plan.SANDBOX) {
      return "Sandbox plans have no point-in-time recovery: move to Starter or Business to get it";
    }
    if (addon.removed()) {
      return "the addon was removed";
    }
    return null;
  }

  private static OperatorBaseView operatorBase(StoredBase b, boolean usable) {
    return new OperatorBaseView(b.id(), b.status(), text(b.requestedAt()), text(b.startedAt()), text(b.completedAt()),
        text(b.endTime()), b.node(), b.nodeReason(), b.sizeBytes(), b.timeline(), lsn(b.startLsn()), lsn(b.stopLsn()),
        b.serverVersionNum(), b.systemId() == null ? null : Long.toUnsignedString(b.systemId()), usable, b.reason());
  }

  private static String state(StoredWindow w) {
    return w.state() == null || w.state().equals("UNKNOWN") ? "starting" : w.state().toLowerCase(Locale.ROOT);
  }

  private static String lsn(Long value) {
    return value == null ? null : String.format("%X/%X", value >>> 32, value & 0xFFFFFFFFL);
  }

  private static String text(Instant instant) {
    return instant == null ? null : instant.toString();
  }
}
