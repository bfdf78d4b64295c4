package dev.backstop.worker;

import dev.backstop.schemas.events.Engine;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.mysql.MysqlDumpEngine;
import dev.backstop.worker.mysql.MysqlReplicaProbe;
import dev.backstop.worker.mysql.MysqlRestoreEngine;
import dev.backstop.worker.postgres.PostgresClients;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresReplicaProbe;
import dev.backstop.worker.postgres.PostgresRestoreEngine;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The database engines this worker serves, each with its tools as configured: what dumps, probes
 * replicas and restores. A new engine is a package of its own ({@code postgres}, {@code mysql}) and a
 * line in each map here.
 */
@Configuration
public class EngineConfiguration {

  private static final Logger log = LoggerFactory.getLogger(EngineConfiguration.class);

  /** The pg_dump and pg_restore of each PostgreSQL major version this worker has. */
  @Bean
  public PostgresClients postgresClients(WorkerProperties worker, VerifierProperties verifier) {
    return PostgresClients.byVersion(worker.pgClientDirectory(), worker.pgDump(), verifier.pgRestore());
  }

  /** How the tools whose output the worker reads in bulk (dumps, a restore test's table data) write it. */
  @Bean
  public OutputBuffer toolOutputBuffer(WorkerProperties properties) {
    return toolOutputBuffer(properties, System.getenv("PATH"));
  }

  /** The same, {@code stdbuf} looked for on {@code path} (the PATH variable's form). */
  OutputBuffer toolOutputBuffer(WorkerProperties properties, String path) {
    OutputBuffer buffer = OutputBuffer.find(properties.dumpOutputBuffer().toBytes(), path);
    if (!buffer.buffers() && properties.dumpOutputBuffer().toBytes() != 0) {
      log.info("no working stdbuf on PATH: pg_dump, mysqldump and pg_restore write to the worker a page at a time "
          + "(backstop.worker.dump-output-buffer needs coreutils' stdbuf)");
    }
    return buffer;
  }

  @Bean
  public Map<Engine, DumpEngine> dumpEngines(WorkerProperties properties, PostgresClients postgresClients,
      OutputBuffer buffer) {
    return Map.of(
        Engine.POSTGRESQL, new PostgresDumpEngine(postgresClients, properties.psql(), properties.dumpTimeout(),
            properties.connectTimeout(), properties.dumpStallTimeout(), buffer),
        Engine.MYSQL, new MysqlDumpEngine(properties.mysqldump(), properties.mysql(), properties.dumpTimeout(),
            properties.dumpStallTimeout(), buffer));
  }

  @Bean
  public Map<Engine, ReplicaProbe> replicaProbes(WorkerProperties properties, PostgresClients postgresClients) {
    return Map.of(
        Engine.POSTGRESQL, new PostgresReplicaProbe(properties.psql(), postgresClients, properties.workDirectory()),
        Engine.MYSQL, new MysqlReplicaProbe(properties.mysql(), properties.workDirectory()));
  }

  @Bean
  public Map<Engine, RestoreEngine> restoreEngines(VerifierProperties verifier, WorkerProperties worker,
      PostgresClients postgresClients, OutputBuffer buffer) {
    var pg = verifier.postgresql();
    var my = verifier.mysql();
    return Map.of(
        Engine.POSTGRESQL, new PostgresRestoreEngine(worker.psql(), postgresClients,
            new DumpTarget(pg.host(), pg.port(), pg.maintenanceDatabase() == null ? "postgres" : pg.maintenanceDatabase(),
                pg.user(), pg.password()), verifier.restoreTimeout(),
            new PostgresRestoreEngine.Tuning(verifier.pgRestoreJobs(), verifier.spoolMinFreeSpace().toBytes(),
                verifier.restoreMaintenanceWorkMem().toBytes()), buffer),
        Engine.MYSQL, new MysqlRestoreEngine(worker.mysql(),
            new DumpTarget(my.host(), my.port(), "", my.user(), my.password()), verifier.restoreTimeout(),
            verifier.mysqlConnections()));
  }
}
