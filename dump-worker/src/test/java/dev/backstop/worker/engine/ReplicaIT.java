package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.backstop.testing.MariadbCluster;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.worker.engine.ReplicaProbe.ReplicaState;
import dev.backstop.worker.mysql.MysqlDumpEngine;
import dev.backstop.worker.mysql.MysqlReplicaProbe;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresReplicaProbe;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real PostgreSQL primary and streaming replica on high ports: what the probe sees of each, and a
 * dump on the standby cancelled by a conflict with recovery, which is retried. And a real MariaDB
 * primary with a GTID replica: the probe while it replicates and once stopped, and a dump from it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplicaIT {

  private PostgresCluster primary;
  private PostgresCluster replica;
  @TempDir Path work;

  @BeforeAll
  void start() throws IOException {
    primary = PostgresCluster.primary(freePort());
    primary.psql("postgres", "CREATE DATABASE shop");
    primary.psql("shop", "CREATE TABLE orders(id int PRIMARY KEY, note text); "
        + "INSERT INTO orders SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 300000) g");
    // replay never waits for a query in its way: every conflict cancels the query at once
    replica = primary.replica(freePort(), "max_standby_streaming_delay = 0", "hot_standby_feedback = off");
    await().atMost(Duration.ofSeconds(30)).until(() -> replica.psql("shop", "SELECT count(*) FROM orders").equals("300000"));
  }

  @AfterAll
  void stop() {
    if (replica != null) {
      replica.close();
    }
    if (primary != null) {
      primary.close();
    }
  }

  @Test
  void the_probe_sees_a_streaming_standby_and_a_primary_that_is_none() {
    var probe = new PostgresReplicaProbe("psql", work);
    ReplicaState standby = probe.probe(target(replica));
    assertThat(standby.replicating()).as(standby.problem()).isTrue();
    assertThat(standby.lag()).isLessThan(Duration.ofSeconds(5));

    assertThat(probe.probe(target(primary)).problem()).isEqualTo("not a standby: it accepts writes (promoted?)");
    assertThat(probe.probe(new DumpTarget("127.0.0.1", 1, "shop", "postgres", "x")).problem()).startsWith("unreachable: ");
  }

  @Test
  void a_dump_on_the_standby_cancelled_by_a_conflict_with_recovery_fails_as_transient_and_the_retry_succeeds() throws Exception {
    var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(2));
    // once pg_dump has started writing (its tables locked), the primary rewrites the table it is reading
    OutputStream conflicting = new OutputStream() {
      boolean altered;

      @Override
      public void write(int b) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void write(byte[] b, int off, int len) {
        if (!altered) {
          altered = true;
          primary.psql("shop", "ALTER TABLE orders ADD COLUMN flagged boolean");
          sleep(3000);
        }
      }
    };
    assertThatThrownBy(() -> engine.dump(target(replica), conflicting, work))
        .isInstanceOf(DumpFailedException.class)
        .satisfies(e -> assertThat(engine.failures().isTransient(e.getMessage())).as(e.getMessage()).isTrue())
        .hasMessageContaining("conflict with recovery");

    ByteArrayOutputStream dump = new ByteArrayOutputStream();
    engine.dump(target(replica), dump, work);
    assertThat(dump.toString(java.nio.charset.StandardCharsets.ISO_8859_1)).startsWith("PGDMP").contains("flagged");
  }

  @Test
  void a_mariadb_gtid_replica_is_seen_replicating_then_stopped_and_dumps_the_primarys_rows() throws Exception {
    try (MariadbCluster source = MariadbCluster.start(freePort(), 1); MariadbCluster copy = MariadbCluster.start(freePort(), 2)) {
      source.sql("CREATE USER 'backstop'@'%' IDENTIFIED BY 'se:cret\"pw'; "
          + "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, REPLICATION SLAVE, SLAVE MONITOR ON *.* TO 'backstop'@'%'; "
          + "CREATE DATABASE shop; CREATE TABLE shop.orders(id INT PRIMARY KEY, note VARCHAR(64)); "
          + "INSERT INTO shop.orders SELECT seq, MD5(seq) FROM shop.seq_1_to_5000");
      copy.replicate(source, "backstop", "se:cret\"pw");
      // until replication has applied the CREATE TABLE, the count fails ("doesn't exist"): not yet, not an error
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
          .until(() -> copy.sql("SELECT COUNT(*) FROM shop.orders").equals("5000"));

      var probe = new MysqlReplicaProbe("mysql", work);
      DumpTarget replicaNode = new DumpTarget("127.0.0.1", copy.port(), "shop", "backstop", "se:cret\"pw");
      ReplicaState running = probe.probe(replicaNode);
      assertThat(running.replicating()).as(running.problem()).isTrue();
      assertThat(running.lag()).isLessThan(Duration.ofSeconds(5));
      assertThat(probe.probe(new DumpTarget("127.0.0.1", source.port(), "shop", "backstop", "se:cret\"pw")).problem())
          .isEqualTo("not a replica: no replication is configured");

      ByteArrayOutputStream dump = new ByteArrayOutputStream();
      new MysqlDumpEngine("mysqldump", Duration.ofMinutes(1)).dump(replicaNode, dump, work);
      assertThat(dump.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("CREATE TABLE `orders`").contains("(5000,'");

      copy.sql("STOP SLAVE SQL_THREAD");
      assertThat(probe.probe(replicaNode).problem()).startsWith("replication stopped (IO thread: Yes, SQL thread: No)");
    }
  }

  private static DumpTarget target(PostgresCluster cluster) {
    return new DumpTarget("127.0.0.1", cluster.port(), "shop", "postgres", "unused-with-trust-auth");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
