package dev.backstop.gateway.addons;

import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.addon.DailySchedule;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.springframework.stereotype.Component;

/**
 * Registers, changes and removes addons. The event is published first (the topic is the record),
 * then the gateway's own catalog is updated the same way its consumer would, so that the next API
 * call already sees the change.
 *
 * <p>Each change takes a revision from {@link AddonRevisions} (atomic, so never one another change
 * has), and within this instance, changes to one addon run one at a time from reading the current
 * state to publishing, so that revisions are published in order and no change is built on a state
 * another one is replacing. Across instances, two simultaneous changes still get distinct revisions;
 * the higher one wins wherever they arrive.
 */
@Component
public class AddonRegistry {

  private final KnownAddons catalog;
  private final AddonRevisions revisions;
  private final EventPublisher publisher;
  private final SecretSealer sealer;
  private final Clock clock;
  private final ReentrantLock[] stripes = new ReentrantLock[64];

  public AddonRegistry(KnownAddons catalog, AddonRevisions revisions, EventPublisher publisher, SecretSealer sealer, Clock clock) {
    this.catalog = catalog;
    this.revisions = revisions;
    this.publisher = publisher;
    this.sealer = sealer;
    this.clock = clock;
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  /** Returns true when the addon is new, false when an existing one changed. */
  public boolean register(String addonId, AddonRegistration registration) {
    AddonSpec spec = toSpec(addonId, registration);
    return oneAtATime(addonId, () -> {
      var existing = catalog.find(addonId);
      if (existing.isPresent() && !existing.get().appName().equals(spec.getAppName())) {
        throw ApiProblem.conflict("addon-owned-elsewhere", "Addon belongs to another app",
            "addon " + addonId + " is registered for another app; remove it there first");
      }
      long revision = nextRevision(addonId);
      String eventId = UUID.randomUUID().toString();
      Instant now = clock.instant();
      if (existing.isEmpty()) {
        publisher.publish(Topics.ADDONS, addonId, new AddonRegistered(eventId, revision, now, spec));
      } else {
        publisher.publish(Topics.ADDONS, addonId, new AddonChanged(eventId, revision, now, spec));
      }
      catalog.upsert(spec, revision, now);
      return existing.isEmpty();
    });
  }

  /** Publishes the addon again with a new schedule; the scheduler applies it from the next run. */
  public void changeSchedule(String addonId, DailySchedule schedule) {
    oneAtATime(addonId, () -> {
      Addon addon = catalog.find(addonId).orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
      AddonSpec spec = addon.toSpec();
      spec.setSchedule(schedule.toAvro());
      long revision = nextRevision(addonId);
      Instant now = clock.instant();
      publisher.publish(Topics.ADDONS, addonId, new AddonChanged(UUID.randomUUID().toString(), revision, now, spec));
      catalog.upsert(spec, revision, now);
      return null;
    });
  }

  public void remove(String addonId) {
    oneAtATime(addonId, () -> {
      var addon = catalog.find(addonId).filter(a -> !a.removed())
          .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
      long revision = nextRevision(addonId);
      Instant now = clock.instant();
      publisher.publish(Topics.ADDONS, addonId,
          new AddonRemoved(UUID.randomUUID().toString(), revision, now, addonId, addon.appName()));
      catalog.markRemoved(addonId, revision, now);
      return null;
    });
  }

  private long nextRevision(String addonId) {
    return revisions.next(addonId, catalog.revision(addonId));
  }

  private <T> T oneAtATime(String addonId, Supplier<T> change) {
    ReentrantLock lock = stripes[Math.floorMod(addonId.hashCode(), stripes.length)];
    lock.lock();
    try {
      return change.get();
    } finally {
      lock.unlock();
    }
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
    if (!Addon.allowsSecondaries(plan) && nodes.size() > 1) {
      throw ApiProblem.badRequest("only business addons have secondary nodes");
    }
    var s = r.schedule();
    DailySchedule defaults = DailySchedule.DEFAULT;
    int hour = s == null || s.hour() == null ? defaults.at().hour() : s.hour();
    ZoneId zone;
    try {
      zone = s == null || s.timezone() == null ? defaults.at().zone() : ZoneId.of(s.timezone());
    } catch (DateTimeException e) {
      throw ApiProblem.badRequest("unknown time zone '" + s.timezone() + "': use an IANA zone such as Europe/Paris or UTC");
    }
    boolean enabled = s == null || s.enabled() == null || s.enabled();
    return new AddonSpec(addonId, r.appName(), Engine.valueOf(r.engine().toUpperCase(Locale.ROOT)), plan, r.database(),
        r.user(), sealer.seal(addonId, r.password()), nodes, new DailySchedule(enabled, new BackupTime(hour, zone)).toAvro());
  }
}
