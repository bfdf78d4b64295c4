package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.engine.Scrubber;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A PostgreSQL standby's state through {@code psql}: in recovery, its WAL receiver streaming, and its
 * replay lag. The lag is the age of the last replayed commit only while received WAL waits to be
 * replayed: an idle primary sends nothing, and a standby with nothing to replay is not behind.
 */
public class PostgresReplicaProbe implements ReplicaProbe {

  static final String QUERY = "SELECT pg_is_in_recovery(), coalesce((SELECT status FROM pg_stat_wal_receiver LIMIT 1), 'none'), "
      + "CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
      + "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END";

  private final String psql;
  private final PostgresClients clients;
  private final Path workDirectory;

  public PostgresReplicaProbe(String psql, Path workDirectory) {
    this(psql, PostgresClients.fixed("pg_dump", "pg_restore"), workDirectory);
  }

  /** @param clients where the {@code psql} a bare {@code psql} names is ({@link PostgresClients#psql}) */
  public PostgresReplicaProbe(String psql, PostgresClients clients, Path workDirectory) {
    this.psql = psql;
    this.clients = clients;
    this.workDirectory = workDirectory;
  }

  @Override
  public ReplicaState probe(DumpTarget node) {
    try {
      return interpret(ExternalCommand.output("psql", workDirectory, "pgpass", PostgresDumpEngine.pgpassLine(node),
          Scrubber.hiding(node.password()),
          passFile -> List.of(clients.psql(psql), "-X", "-A", "-t", "-q", "--no-password", "-h", node.host(), "-p", Integer.toString(node.port()),
              "-U", node.user(), "--dbname", node.database(), "-c", QUERY),
          PostgresDumpEngine::environment, Duration.ofSeconds(30)).trim());
    } catch (DumpFailedException | IOException e) {
      return ReplicaState.broken("unreachable: " + e.getMessage());
    }
  }

  /** {@code t|streaming|0.25}: in recovery, receiver status, lag in seconds. */
  public static ReplicaState interpret(String row) {
    String[] fields = row.split("\\|");
    if (fields.length != 3) {
      return ReplicaState.broken("unexpected answer: " + row);
    }
    if (!fields[0].equals("t")) {
      return ReplicaState.broken("not a standby: it accepts writes (promoted?)");
    }
    if (!fields[1].equals("streaming")) {
      return ReplicaState.broken("not streaming from its primary (WAL receiver: " + fields[1] + ")");
    }
    return ReplicaState.ok(Duration.ofMillis(Math.round(Double.parseDouble(fields[2]) * 1000)));
  }
}
