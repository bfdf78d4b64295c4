package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ReplicaProbe;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a job that reads an addon's database (a dump, a PITR base backup) settles before its tool runs:
 * the addon registered (a brand-new one may lag its first request), allowed the job, its stored
 * credentials readable and safe to hand to a tool, the node to read chosen by {@link DumpPlanner} (a
 * secondary on Business), and a host slot on that node taken. Waiting (an addon not registered yet, a
 * host with no free slot) reschedules the job in the queue instead of holding the thread.
 */
public final class TargetPreparation {

  private static final Logger log = LoggerFactory.getLogger(TargetPreparation.class);

  /** How soon a request for an addon not registered yet looks for it again. */
  private static final Duration ADDON_LOOK_AGAIN = Duration.ofMillis(250);

  /** How a preparation ended. */
  public sealed interface Decision {}

  /** The job was rescheduled to look again later; nothing else is to be done now. */
  public record Wait() implements Decision {}

  /** The job ends failed with this reason, on no node. */
  public record Fail(String reason) implements Decision {}

  /** The job runs now against {@code target} on the chosen node, whose host slot it holds. */
  public record Go(Addon addon, DumpPlanner.Choice choice, DumpTarget target) implements Decision {}

  private final AddonCatalog addons;
  private final JobLedger ledger;
  private final HostSlots slots;
  private final SecretSealer sealer;
  private final Map<Engine, ReplicaProbe> probes;
  private final WorkerProperties properties;
  private final Clock clock;
  private final String what;

  /** @param what names the jobs in log lines ("backup", "base backup") */
  public TargetPreparation(String what, AddonCatalog addons, JobLedger ledger, HostSlots slots, SecretSealer sealer,
      Map<Engine, ReplicaProbe> probes, WorkerProperties properties, Clock clock) {
    this.what = what;
    this.addons = addons;
    this.ledger = ledger;
    this.slots = slots;
    this.sealer = sealer;
    this.probes = probes;
    this.properties = properties;
    this.clock = clock;
  }

  /**
   * Prepares the claimed job; the host slot taken is held by {@code job} (released when it ends).
   *
   * @param refusal why this job does not run for the addon at all (null: it does), asked before anything else
   */
  public Decision prepare(BackupRequested request, JobLedger.Job claimed, RunningJob job, Function<Addon, String> refusal) {
    Optional<Addon> found = addons.find(request.getAddonId());
    if (found.isEmpty()) {
      // the addons topic and the requests topic are read independently: a brand-new addon may lag its
      // first request. It waits in the queue for the registration, up to addon-wait after it was recorded
      Instant now = clock.instant();
      if (now.isBefore(claimed.recordedAt().plus(properties.addonWait()))) {
        ledger.reschedule(request.getBackupId(), properties.instanceName(), now.plus(ADDON_LOOK_AGAIN), claimed.failures(),
            "addon " + request.getAddonId() + " not registered yet");
        return new Wait();
      }
      return new Fail("addon " + request.getAddonId() + " is not registered with Backstop");
    }
    Addon addon = found.get();
    String refused = refusal.apply(addon);
    if (refused != null) {
      return new Fail(refused);
    }
    List<String> hosts = addon.nodes().stream().map(Addon.Node::host).distinct().toList();
    if (!slots.anyFree(hosts, properties.dumpsPerHost(), request.getBackupId(), clock.instant())) {
      return waitForSlot(request, claimed, String.join(", ", hosts));
    }
    String password;
    try {
      password = sealer.open(addon.id(), addon.toSpec().getPassword());
    } catch (IllegalStateException e) {
      return new Fail("the stored credentials cannot be read: " + e.getMessage());
    }
    // settings stored before the operator API checked them, or replayed, never reach a tool
    String invalid = DumpTarget.refusal(addon.nodes(), addon.database(), addon.user(), password);
    if (invalid != null) {
      return new Fail(invalid);
    }
    ReplicaProbe probe = probes.get(addon.engine());
    var decision = DumpPlanner.choose(addon.plan(), addon.nodes(),
        node -> probe.probe(new DumpTarget(node.host(), node.port(), addon.database(), addon.user(), password)),
        new DumpPlanner.SecondaryRules(properties.maxReplicationLag(), properties.fallBackToPrimary()));
    if (decision instanceof DumpPlanner.Refusal planned) {
      return new Fail(planned.reason());
    }
    DumpPlanner.Choice choice = (DumpPlanner.Choice) decision;
    Instant now = clock.instant();
    var slot = slots.acquire(choice.node().host(), properties.dumpsPerHost(), request.getBackupId(), now,
        now.plus(properties.leaseDuration()));
    if (slot.isEmpty()) {
      return waitForSlot(request, claimed, choice.node().host());
    }
    job.holdsSlot(slot.get());
    return new Go(addon, choice, new DumpTarget(choice.node().host(), choice.node().port(), addon.database(), addon.user(),
        password));
  }

  /** The job waits its turn in the queue (rescheduled shortly, no failure counted), not on this thread. */
  private Wait waitForSlot(BackupRequested request, JobLedger.Job claimed, String hosts) {
    log.info("{} {}: {} dumps already run on {}; it waits for one to end", what, request.getBackupId(),
        properties.dumpsPerHost(), hosts);
    ledger.reschedule(request.getBackupId(), properties.instanceName(), clock.instant().plus(properties.hostSlotRetry()),
        claimed.failures(), "waiting for a dump slot on " + hosts);
    return new Wait();
  }
}
