package dev.backstop.worker.messaging;

import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Engine;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.dump.DumpEngine;
import dev.backstop.worker.dump.MysqlDumpEngine;
import dev.backstop.worker.dump.PostgresDumpEngine;
import dev.backstop.worker.dump.MysqlReplicaProbe;
import dev.backstop.worker.dump.PostgresReplicaProbe;
import dev.backstop.worker.dump.ReplicaProbe;
import dev.backstop.worker.job.BackupJob;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The worker's handlers: {@code backstop.addons} into its catalog, {@code backstop.backup-requests} into jobs. */
@Configuration
public class WorkerMessagingConfiguration {

  @Bean
  public Map<Engine, DumpEngine> dumpEngines(WorkerProperties properties) {
    return Map.of(
        Engine.POSTGRESQL, new PostgresDumpEngine(properties.getPgDump(), properties.getPsql(), properties.getDumpTimeout()),
        Engine.MYSQL, new MysqlDumpEngine(properties.getMysqldump(), properties.getMysql(), properties.getDumpTimeout()));
  }

  @Bean
  public Map<Engine, ReplicaProbe> replicaProbes(WorkerProperties properties) {
    return Map.of(
        Engine.POSTGRESQL, new PostgresReplicaProbe(properties.getPsql(), properties.getWorkDirectory()),
        Engine.MYSQL, new MysqlReplicaProbe(properties.getMysql(), properties.getWorkDirectory()));
  }

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonCatalog catalog) {
    return catalog.consumer();
  }

  @Bean
  public Consumer<SpecificRecord> backupRequests(BackupJob job) {
    return event -> {
      if (event instanceof BackupRequested request) {
        try {
          job.handle(request);
        } catch (java.io.IOException e) {
          throw new UncheckedIOException("backup " + request.getBackupId() + " could not be stored", e);
        }
      }
    };
  }
}
