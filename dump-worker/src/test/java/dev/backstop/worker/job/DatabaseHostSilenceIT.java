package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.testing.PostgresCluster;
import java.time.Duration;
import java.util.List;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A fault of docs/reliability.md: the database host vanishing mid-dump without closing the connection
 * ({@link VanishingHost}: the dump's connection goes silent once 256 KiB of it came through, never reset).
 * TCP would let {@code pg_dump} wait for hours; the worker stops a dump tool silent for
 * {@code dump-stall-timeout} (3 s here, 10 min by default), counts the attempt as a transient failure, and
 * the retry after the backoff, on a new connection, completes the backup once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseHostSilenceIT {

  private FaultRig rig;
  private VanishingHost host;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("host-silence").startKafka().startMongo();
    PostgresCluster cluster = PostgresCluster.primary(FaultRig.freePort());
    rig.atClose(cluster);
    cluster.psql("postgres", "CREATE DATABASE shop");
    cluster.psql("shop", FaultRig.TABLE);
    host = new VanishingHost(cluster.port(), 256 << 10);
    // closed before the cluster stops: the silent connection's backend goes with it
    rig.atClose(host);
    rig.database(new FaultRig.Database("127.0.0.1", host.port(), "postgres", "shop", sql -> cluster.psql("shop", sql)));
    rig.startWorker("--backstop.worker.retry-backoff=2s", "--backstop.worker.dump-attempts=3",
        "--backstop.worker.dump-stall-timeout=3s");
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void a_database_host_gone_silent_mid_dump_is_given_up_after_the_stall_timeout_and_the_retry_completes_once() throws Exception {
    rig.register("silent");
    long began = System.nanoTime();
    rig.request("silent", "silent-b");
    assertThat(host.awaitVanished(Duration.ofSeconds(60))).as("the dump's connection went silent mid-way").isTrue();
    long vanishedAt = System.nanoTime();

    FaultRig.Figures figures = rig.outcome("silent-b", Duration.ofSeconds(60));
    Document job = rig.job("silent-b");
    List<String> archives = rig.archives("silent", "silent-b");
    System.out.printf("database host silent mid-dump: requested 1, started %d, attempts failed %s (last: %s), completed %d, "
        + "failed %d %s, lost %d, duplicated %d, archives %d, %d s in all, %d s from the silence to the outcome%n",
        figures.started(), job.get("failures"), job.get("lastFailure"), figures.completed(), figures.failed(), figures.reasons(),
        figures.lost(), figures.duplicated(), archives.size(), Duration.ofNanos(System.nanoTime() - began).toSeconds(),
        Duration.ofNanos(System.nanoTime() - vanishedAt).toSeconds());
    assertThat(job.getInteger("failures")).as("attempts that failed before the one that completed").isEqualTo(1);
    assertThat(job.getString("lastFailure")).as("the silent attempt's reason")
        .startsWith("pg_dump stopped answering: nothing came out of it for 3 s");
    figures.assertCompletedOnce(archives);
  }
}
