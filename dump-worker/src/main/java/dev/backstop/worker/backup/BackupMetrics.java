package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.schemas.events.BackupKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Locale;

/**
 * What the worker's jobs did, for monitoring (names and tags in docs/monitoring.md). Counted where a job
 * runs, not where its events are read: a job runs once (its ledger says so), so a replay of the topics
 * counts nothing twice.
 */
public final class BackupMetrics {

  private final MeterRegistry registry;

  public BackupMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Metrics kept in memory only, for jobs built outside a Spring context (tests, tools). */
  public static BackupMetrics unexported() {
    return new BackupMetrics(new SimpleMeterRegistry());
  }

  /** A backup started; {@code delay} runs from its request (the scheduled slot, or the manual call) to its start. */
  public void started(Addon addon, BackupKind kind, Duration delay) {
    count("started", addon, kind);
    Timer.builder("backstop.backup.start.delay")
        .description("From a backup's request (its scheduled slot, or the manual call) to the start of its dump")
        .tags(Tags.of("kind", name(kind)).and("plan", plan(addon)))
        .publishPercentileHistogram()
        .register(registry)
        .record(delay.isNegative() ? Duration.ZERO : delay);
  }

  /** A backup is stored: how long its dump (with packing) and its upload took, and its archive's size. */
  public void completed(Addon addon, BackupKind kind, Duration dump, Duration store, long bytes) {
    count("done", addon, kind);
    Tags tags = Tags.of("engine", engine(addon));
    Timer.builder("backstop.backup.dump").description("Dump of a database into its archive, packing included")
        .tags(tags).publishPercentileHistogram().register(registry).record(dump);
    Timer.builder("backstop.backup.store").description("Upload of an archive to the archive store")
        .tags(tags).publishPercentileHistogram().register(registry).record(store);
    DistributionSummary.builder("backstop.backup.size").description("Size of a stored archive").baseUnit("bytes")
        .tags(tags).register(registry).record(bytes);
  }

  /** A backup ended failed; {@code addon} is null when it is not known. */
  public void failed(Addon addon, BackupKind kind) {
    count("failed", addon, kind);
  }

  /** A restore test ended, passed or failed, after {@code took}. */
  public void restoreTested(Addon addon, boolean passed, Duration took, long rows) {
    Tags tags = Tags.of("engine", engine(addon), "outcome", passed ? "passed" : "failed");
    Timer.builder("backstop.restore.test").description("Restore test of a backup: read back, restored, counted")
        .tags(tags).publishPercentileHistogram().register(registry).record(took);
    DistributionSummary.builder("backstop.restore.test.rows").description("Rows a restore test found restored")
        .baseUnit("rows").tags(tags).register(registry).record(rows);
  }

  private void count(String status, Addon addon, BackupKind kind) {
    Counter.builder("backstop.backups").description("Backups by how they ended (or that they started)")
        .tags("status", status, "engine", engine(addon), "plan", plan(addon), "kind", name(kind))
        .register(registry).increment();
  }

  private static String engine(Addon addon) {
    return addon == null ? "unknown" : name(addon.engine());
  }

  private static String plan(Addon addon) {
    return addon == null ? "unknown" : name(addon.plan());
  }

  private static String name(Enum<?> value) {
    return value == null ? "unknown" : value.name().toLowerCase(Locale.ROOT);
  }
}
