package dev.backstop.worker.verify;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveReader;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.schemas.events.Engine;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.messaging.ConsumerProgress;
import dev.backstop.worker.messaging.UntilRecorded;
import dev.backstop.worker.messaging.WorkerMessagingConfiguration;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Restore verification: {@code backstop.backup-events} completions into restore tests, in their own consumer group. */
@Configuration
public class VerificationConfiguration {

  /** Restore tests hold their own ledger (collection {@code verifications}): their queue, leases and outbox. */
  @Bean
  public RestoreVerification restoreVerification(MongoDatabase database, AddonCatalog addons, ArchiveReader archives,
      EventPublisher publisher, Map<Engine, RestoreEngine> restoreEngines, VerifierProperties verifier,
      WorkerProperties worker, Clock clock, dev.backstop.worker.backup.BackupMetrics metrics,
      dev.backstop.worker.job.JobTracing tracing) {
    RestoreVerification verification = new RestoreVerification(new JobLedger(database, "verifications", tracing), addons, archives,
        publisher, restoreEngines, verifier, worker, clock, metrics);
    verification.checkScratchServers();
    return verification;
  }

  /** Runs the recorded restore tests, {@code concurrent-restores} at once, and their retries. */
  /** How far the verifier's group has read {@code backstop.backup-events}, where the tests' outcomes are published too. */
  @Bean(destroyMethod = "close")
  public ConsumerProgress verificationsRead(Environment environment, Clock clock) {
    return WorkerMessagingConfiguration.progressOf(environment, "backupVerifications-in-0", clock);
  }

  /**
   * Runs the recorded restore tests, {@code concurrent-restores} at once, and their retries; a test only
   * once its outcome, if the topic holds one already, would have been read.
   */
  @Bean(destroyMethod = "close")
  public JobRunner verificationRunner(RestoreVerification verification, VerifierProperties verifier, WorkerProperties worker,
      ConsumerProgress verificationsRead, Clock clock) {
    return new JobRunner("restore-test", verification.ledger(), verification::execute, verifier.concurrentRestores(),
        worker.instanceName(), worker.leaseDuration(), worker.pollInterval(), verifier.retryBackoff(), clock)
        .gatedBy(verificationsRead).start();
  }

  /**
   * Records each completion as a restore test and wakes the runner; the partition never waits for a restore.
   * Each test's outcome, read back, settles it: a completion replayed into an empty ledger is not tested again.
   */
  @Bean
  public Consumer<SpecificRecord> backupVerifications(RestoreVerification verification, JobRunner verificationRunner, Clock clock) {
    UntilRecorded recording = new UntilRecorded(Duration.ofSeconds(1), Duration.ofSeconds(30));
    return event -> {
      if (event instanceof BackupCompleted completed) {
        if (recording.record("the restore test of backup " + completed.getBackupId(), () -> verification.record(completed))) {
          verificationRunner.wake();
        }
      } else if (event instanceof BackupVerified verified) {
        recording.record("the restore test outcome of backup " + verified.getBackupId(), () -> {
          verification.ledger().settledElsewhere(verified.getBackupId(), verified.getAddonId(),
              verified.getPassed() ? JobLedger.State.DONE : JobLedger.State.FAILED, EventCodec.get().encode(verified),
              clock.instant());
          return true;
        });
      }
    };
  }
}
