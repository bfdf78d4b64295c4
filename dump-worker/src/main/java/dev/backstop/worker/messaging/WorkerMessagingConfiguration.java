package dev.backstop.worker.messaging;

import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.worker.backup.BackupJob;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.job.JobRunner;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The worker's handlers: {@code backstop.addons} into its catalog, {@code backstop.backup-requests} into jobs. */
@Configuration
public class WorkerMessagingConfiguration {

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonCatalog catalog) {
    return catalog.consumer();
  }

  /** What the jobs did, for /actuator/prometheus. */
  @Bean
  public dev.backstop.worker.backup.BackupMetrics backupMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
    return new dev.backstop.worker.backup.BackupMetrics(registry);
  }

  /** Runs the recorded backups, {@code concurrent-dumps} at once, apart from the consumer that records them. */
  @Bean(destroyMethod = "close")
  public JobRunner backupRunner(BackupJob job, JobLedger ledger, WorkerProperties properties, Clock clock) {
    return new JobRunner("backup", ledger, job::execute, properties.concurrentDumps(), properties.instanceName(),
        properties.leaseDuration(), properties.pollInterval(), properties.retryBackoff(), clock).start();
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
