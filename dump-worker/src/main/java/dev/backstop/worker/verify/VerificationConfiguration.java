package dev.backstop.worker.verify;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.Engine;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.dump.DumpTarget;
import dev.backstop.worker.dump.MysqlRestoreEngine;
import dev.backstop.worker.dump.PostgresRestoreEngine;
import dev.backstop.worker.dump.RestoreEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Restore verification: {@code backstop.backup-events} completions into restore tests, in their own consumer group. */
@Configuration
public class VerificationConfiguration {

  @Bean
  public Map<Engine, RestoreEngine> restoreEngines(VerifierProperties verifier, WorkerProperties worker) {
    var pg = verifier.getPostgresql();
    var my = verifier.getMysql();
    return Map.of(
        Engine.POSTGRESQL, new PostgresRestoreEngine(worker.getPsql(), verifier.getPgRestore(),
            new DumpTarget(pg.getHost(), pg.getPort(), pg.getMaintenanceDatabase() == null ? "postgres" : pg.getMaintenanceDatabase(),
                pg.getUser(), pg.getPassword()), verifier.getRestoreTimeout()),
        Engine.MYSQL, new MysqlRestoreEngine(worker.getMysql(),
            new DumpTarget(my.getHost(), my.getPort(), "", my.getUser(), my.getPassword()), verifier.getRestoreTimeout()));
  }

  @Bean
  public RestoreVerification restoreVerification(MongoDatabase database, AddonCatalog addons, ArchiveStore store,
      ArchiveCipher cipher, EventPublisher publisher, Map<Engine, RestoreEngine> restoreEngines, VerifierProperties verifier,
      WorkerProperties worker, Clock clock) {
    RestoreVerification verification = new RestoreVerification(new JobLedger(database, "verifications"), addons, store, cipher,
        publisher, restoreEngines, verifier, worker, clock);
    verification.checkScratchServers();
    return verification;
  }

  @Bean
  public Consumer<SpecificRecord> backupVerifications(RestoreVerification verification) {
    return event -> {
      if (event instanceof BackupCompleted completed) {
        try {
          verification.handle(completed);
        } catch (IOException e) {
          throw new UncheckedIOException("backup " + completed.getBackupId() + " could not be verified", e);
        }
      }
    };
  }
}
