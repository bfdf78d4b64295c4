package dev.backstop.gateway.addons;

import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.Locale;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Registers, changes and removes addons. The event is published first (the topic is the record),
 * then the gateway's own catalog is updated the same way its consumer would, so that the next API
 * call already sees the change.
 */
@Component
public class AddonRegistry {

  public static final int DEFAULT_HOUR = 1;
  public static final String DEFAULT_ZONE = "Europe/Paris";

  private final AddonCatalog catalog;
  private final EventPublisher publisher;
  private final SecretSealer sealer;
  private final Clock clock;

  public AddonRegistry(AddonCatalog catalog, EventPublisher publisher, SecretSealer sealer, Clock clock) {
    this.catalog = catalog;
    this.publisher = publisher;
    this.sealer = sealer;
    this.clock = clock;
  }

  /** Returns true when the addon is new, false when an existing one changed. */
  public boolean register(String addonId, AddonRegistration registration) {
    AddonSpec spec = toSpec(addonId, registration);
    var existing = catalog.find(addonId);
    if (existing.isPresent() && !existing.get().appName().equals(spec.getAppName())) {
      throw ApiProblem.conflict("addon-owned-elsewhere", "Addon belongs to another app",
          "addon " + addonId + " is registered for another app; remove it there first");
    }
    long revision = catalog.revision(addonId) + 1;
    String eventId = UUID.randomUUID().toString();
    if (existing.isEmpty()) {
      publisher.publish(Topics.ADDONS, addonId, new AddonRegistered(eventId, revision, clock.instant(), spec));
    } else {
      publisher.publish(Topics.ADDONS, addonId, new AddonChanged(eventId, revision, clock.instant(), spec));
    }
    catalog.upsert(spec, revision);
    return existing.isEmpty();
  }

  /** Publishes the addon again with a new schedule; the scheduler applies it from the next run. */
  public void changeSchedule(String addonId, BackupSchedule schedule) {
    AddonSpec spec = catalog.spec(addonId).orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
    spec.setSchedule(schedule);
    long revision = catalog.revision(addonId) + 1;
    publisher.publish(Topics.ADDONS, addonId, new AddonChanged(UUID.randomUUID().toString(), revision, clock.instant(), spec));
    catalog.upsert(spec, revision);
  }

  public void remove(String addonId) {
    var addon = catalog.find(addonId).filter(a -> !a.removed())
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
    long revision = addon.revision() + 1;
    publisher.publish(Topics.ADDONS, addonId,
        new AddonRemoved(UUID.randomUUID().toString(), revision, clock.instant(), addonId, addon.appName()));
    catalog.markRemoved(addonId, revision);
  }

  private AddonSpec toSpec(String addonId, AddonRegistration r) {
    if (!addonId.matches("[A-Za-z0-9_-]{1,64}")) {
      throw ApiProblem.badRequest("addon id must be 1 to 64 letters, digits, '_' or '-'");
    }
    Plan plan = Plan.valueOf(r.plan().toUpperCase(Locale.ROOT));
    var nodes = r.nodes().stream()
        .map(n -> new DatabaseNode(NodeRole.valueOf(n.role().toUpperCase(Locale.ROOT)), n.host(), n.port()))
        .toList();
    long primaries = nodes.stream().filter(n -> n.getRole() == NodeRole.PRIMARY).count();
    if (primaries != 1) {
      throw ApiProblem.badRequest("an addon has exactly one primary node, this one has " + primaries);
    }
    if (plan != Plan.BUSINESS && nodes.size() > 1) {
      throw ApiProblem.badRequest("only business addons have secondary nodes");
    }
    var s = r.schedule();
    int hour = s == null || s.hour() == null ? DEFAULT_HOUR : s.hour();
    String zone = s == null || s.timezone() == null ? DEFAULT_ZONE : s.timezone();
    try {
      zone = ZoneId.of(zone).getId();
    } catch (DateTimeException e) {
      throw ApiProblem.badRequest("unknown time zone '" + zone + "': use an IANA zone such as Europe/Paris or UTC");
    }
    boolean enabled = s == null || s.enabled() == null || s.enabled();
    return new AddonSpec(addonId, r.appName(), Engine.valueOf(r.engine().toUpperCase(Locale.ROOT)), plan, r.database(),
        r.user(), sealer.seal(addonId, r.password()), nodes, new BackupSchedule(enabled, hour, zone));
  }
}
