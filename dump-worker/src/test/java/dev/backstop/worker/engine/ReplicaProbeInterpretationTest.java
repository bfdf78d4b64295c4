package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.worker.engine.ReplicaProbe.ReplicaState;
import dev.backstop.worker.mysql.MysqlReplicaProbe;
import dev.backstop.worker.postgres.PostgresReplicaProbe;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How the answers of real servers read; the live probes are tested against real replicas in ReplicaIT. */
class ReplicaProbeInterpretationTest {

  @Test
  void a_mariadb_replica_that_runs_reports_its_seconds_behind() {
    String vertical = """
        *************************** 1. row ***************************
                        Slave_IO_State: Waiting for master to send event
                      Slave_IO_Running: Yes
                     Slave_SQL_Running: Yes
                            Last_Error:\s
                 Seconds_Behind_Master: 3
        """;
    assertThat(MysqlReplicaProbe.interpret(vertical)).isEqualTo(ReplicaState.ok(Duration.ofSeconds(3)));
  }

  @Test
  void a_mysql_replica_whose_sql_thread_stopped_says_why() {
    String vertical = """
        *************************** 1. row ***************************
                   Replica_IO_Running: Yes
                  Replica_SQL_Running: No
                       Last_SQL_Error: Error 'Duplicate entry' on query
                Seconds_Behind_Source: NULL
        """;
    assertThat(MysqlReplicaProbe.interpret(vertical).problem())
        .isEqualTo("replication stopped (IO thread: Yes, SQL thread: No): Error 'Duplicate entry' on query");
  }

  @Test
  void a_server_without_replication_is_not_a_replica() {
    assertThat(MysqlReplicaProbe.interpret("").problem()).isEqualTo("not a replica: no replication is configured");
  }

  @Test
  void postgresql_answers() {
    assertThat(PostgresReplicaProbe.interpret("t|streaming|0.25")).isEqualTo(ReplicaState.ok(Duration.ofMillis(250)));
    assertThat(PostgresReplicaProbe.interpret("f|none|0").problem()).isEqualTo("not a standby: it accepts writes (promoted?)");
    assertThat(PostgresReplicaProbe.interpret("t|none|0").problem()).isEqualTo("not streaming from its primary (WAL receiver: none)");
  }
}
