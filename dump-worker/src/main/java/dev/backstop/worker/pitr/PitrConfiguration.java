package dev.backstop.worker.pitr;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.PitrRestoreProperties;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresTargetRestore;
import dev.backstop.schemas.secret.SecretSealer;
import java.time.Clock;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Point-in-time restores: the window projection ({@code backstop.pitr-events}) and the restore job. */
@Configuration
public class PitrConfiguration {

  @Bean
  public PitrWindows pitrWindowProjection(MongoDatabase database) {
    return new PitrWindows(database);
  }

  /** {@code backstop.pitr-events} into {@code pitr_windows}; the other events of that topic are not this worker's. */
  @Bean
  public Consumer<SpecificRecord> pitrWindows(PitrWindows windows) {
    return event -> {
      if (event instanceof PitrWindowChanged changed) {
        windows.apply(changed);
      }
    };
  }

  @Bean
  public BaseRestoreTest baseRestoreTest(ArchiveStore store, ArchiveCipher cipher, PitrRestoreProperties properties,
      WorkerProperties worker, Clock clock) {
    return new BaseRestoreTest(store, cipher, properties, worker.workDirectory(), worker.instanceName(), clock);
  }

  @Bean(destroyMethod = "close")
  public PitrRestoreJob pitrRestoreJob(AddonCatalog addons, JobLedger ledger, ArchiveStore store, ArchiveCipher cipher,
      EventPublisher publisher, PitrWindows windows, WorkerProperties worker, PitrRestoreProperties properties,
      BackstopProperties backstop, Clock clock, SecretSealer sealer, PostgresClients postgresClients,
      VerifierProperties verifier, OutputBuffer toolOutputBuffer) {
    // restores into an operator's database: pg_restore as the restore tests choose it, with their timeout
    return new PitrRestoreJob(addons, ledger, store, cipher, publisher, windows, worker, properties, backstop, clock, sealer,
        new PostgresTargetRestore(worker.psql(), postgresClients, verifier.restoreTimeout(), worker.connectTimeout()),
        toolOutputBuffer);
  }
}
