package dev.backstop.worker.messaging;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.backup.BackupJob;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.job.JobTracing;
import dev.backstop.worker.job.MicrometerJobTracing;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The worker's handlers: {@code backstop.addons} into its catalog, {@code backstop.backup-requests} into jobs,
 * and the outcomes on {@code backstop.backup-events} back into the jobs' ledger, so that a request whose
 * backup is over is never dumped again, even by a worker whose ledger was rebuilt from the topics.
 */
@Configuration
public class WorkerMessagingConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonCatalog catalog) {
    return catalog.consumer();
  }

  /**
   * Each job in the trace of the request (or completion) that recorded it, when Micrometer Tracing is
   * configured (service-kit brings Brave; the binder propagates the trace in each record's headers).
   */
  @Bean
  public JobTracing jobTracing(ObjectProvider<Tracer> tracer, ObjectProvider<Propagator> propagator) {
    Tracer configured = tracer.getIfAvailable();
    Propagator headers = propagator.getIfAvailable();
    return configured == null || headers == null ? JobTracing.NONE : new MicrometerJobTracing(configured, headers);
  }

  /** What the jobs did, for /actuator/prometheus. */
  @Bean
  public dev.backstop.worker.backup.BackupMetrics backupMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
    return new dev.backstop.worker.backup.BackupMetrics(registry);
  }

  /** How far this worker's group has read the backups' outcomes back from {@code backstop.backup-events}. */
  @Bean(destroyMethod = "close")
  public ConsumerProgress backupOutcomesRead(Environment environment, Clock clock) {
    return progressOf(environment, "backupOutcomes-in-0", clock);
  }

  /** A consumer group's progress on its binding's topic, from the binder's brokers and the binding's group. */
  public static ConsumerProgress progressOf(Environment environment, String binding, Clock clock) {
    String brokers = environment.getProperty("spring.cloud.stream.kafka.binder.brokers",
        environment.getProperty("spring.kafka.bootstrap-servers", "localhost:9092"));
    String group = environment.getRequiredProperty("spring.cloud.stream.bindings." + binding + ".group");
    String topic = environment.getProperty("spring.cloud.stream.bindings." + binding + ".destination", Topics.BACKUP_EVENTS);
    return new ConsumerProgress(brokers, group, topic, clock, PROGRESS_CHECKS);
  }

  /** How often a runner asks the broker how far outcomes are read, at most. */
  private static final Duration PROGRESS_CHECKS = Duration.ofMillis(100);

  /**
   * Runs the recorded backups, {@code concurrent-dumps} at once, apart from the consumer that records them;
   * a request only once its outcome, if it has one already, would have been read.
   */
  @Bean(destroyMethod = "close")
  public JobRunner backupRunner(BackupJob job, JobLedger ledger, WorkerProperties properties, ConsumerProgress backupOutcomesRead,
      Clock clock) {
    return new JobRunner("backup", ledger, job::execute, properties.concurrentDumps(), properties.instanceName(),
        properties.leaseDuration(), properties.pollInterval(), properties.retryBackoff(), clock).gatedBy(backupOutcomesRead).start();
  }

  /**
   * Each backup's outcome into the ledger: over for every worker, whichever published it. Its request, read
   * before or after (a replay into an empty ledger), is then dropped as known.
   */
  @Bean
  public Consumer<SpecificRecord> backupOutcomes(JobLedger ledger, Clock clock) {
    UntilRecorded recording = new UntilRecorded(Duration.ofSeconds(1), Duration.ofSeconds(30));
    return event -> {
      if (event instanceof BackupCompleted completed && dumped(completed.getKind())) {
        recording.record("the outcome of backup " + completed.getBackupId(), () -> {
          ledger.settledElsewhere(completed.getBackupId(), completed.getAddonId(), JobLedger.State.DONE,
              EventCodec.get().encode(completed), clock.instant());
          return true;
        });
      } else if (event instanceof BackupFailed failed && dumped(failed.getKind())) {
        recording.record("the outcome of backup " + failed.getBackupId(), () -> {
          ledger.settledElsewhere(failed.getBackupId(), failed.getAddonId(), JobLedger.State.FAILED,
              EventCodec.get().encode(failed), clock.instant());
          return true;
        });
      }
    };
  }

  /** The kinds this worker runs (dumps, base backups, point-in-time restores), as {@link BackupJob#record} takes them. */
  private static boolean dumped(BackupKind kind) {
    return kind != BackupKind.UNKNOWN;
  }

  /**
   * Records each request as a job and wakes the runner: the partition moves on at once, whatever the
   * database of the request does. A request the ledger cannot take yet is tried again here.
   */
  @Bean
  public Consumer<SpecificRecord> backupRequests(BackupJob job, JobRunner backupRunner) {
    UntilRecorded recording = new UntilRecorded(Duration.ofSeconds(1), Duration.ofSeconds(30));
    return event -> {
      if (event instanceof BackupRequested request) {
        if (recording.record("backup " + request.getBackupId(), () -> job.record(request))) {
          backupRunner.wake();
        }
      }
    };
  }
}
