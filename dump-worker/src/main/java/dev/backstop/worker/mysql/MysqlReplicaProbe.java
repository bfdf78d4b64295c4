package dev.backstop.worker.mysql;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.ReplicaProbe;
import dev.backstop.worker.engine.Scrubber;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A MySQL or MariaDB replica's state through the {@code mysql} client: {@code SHOW REPLICA STATUS}
 * (MariaDB ≥ 10.5 names its columns {@code Slave_*}, MySQL ≥ 8.0.22 {@code Replica_*}/{@code *_Source}).
 * The account needs {@code REPLICATION CLIENT} (MySQL) or {@code SLAVE MONITOR} (MariaDB).
 */
public class MysqlReplicaProbe implements ReplicaProbe {

  private final String mysql;
  private final Path workDirectory;

  public MysqlReplicaProbe(String mysql, Path workDirectory) {
    this.mysql = mysql;
    this.workDirectory = workDirectory;
  }

  @Override
  public ReplicaState probe(DumpTarget node) {
    try {
      return interpret(ExternalCommand.output("mysql", workDirectory, "my.cnf", MysqlDumpEngine.optionFile(node),
          Scrubber.hiding(node.password()),
          options -> List.of(mysql, "--defaults-extra-file=" + options, "--protocol=TCP", "-e", "SHOW REPLICA STATUS\\G"),
          options -> Map.of(), Duration.ofSeconds(30)));
    } catch (DumpFailedException | IOException e) {
      return ReplicaState.broken("unreachable: " + e.getMessage());
    }
  }

  /** The vertical ({@code \G}) output of {@code SHOW REPLICA STATUS}. */
  public static ReplicaState interpret(String vertical) {
    Map<String, String> status = new HashMap<>();
    for (String line : vertical.split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("*")) {
        status.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
      }
    }
    if (status.isEmpty()) {
      return ReplicaState.broken("not a replica: no replication is configured");
    }
    String io = first(status, "Slave_IO_Running", "Replica_IO_Running");
    String sql = first(status, "Slave_SQL_Running", "Replica_SQL_Running");
    if (!"Yes".equals(io) || !"Yes".equals(sql)) {
      String error = first(status, "Last_Error", "Last_SQL_Error");
      return ReplicaState.broken("replication stopped (IO thread: " + io + ", SQL thread: " + sql + ")"
          + (error == null || error.isEmpty() ? "" : ": " + error));
    }
    String behind = first(status, "Seconds_Behind_Master", "Seconds_Behind_Source");
    if (behind == null || behind.equals("NULL")) {
      return ReplicaState.broken("replication lag unknown");
    }
    return ReplicaState.ok(Duration.ofSeconds(Long.parseLong(behind)));
  }

  private static String first(Map<String, String> status, String... names) {
    for (String name : names) {
      if (status.containsKey(name)) {
        return status.get(name);
      }
    }
    return null;
  }
}
