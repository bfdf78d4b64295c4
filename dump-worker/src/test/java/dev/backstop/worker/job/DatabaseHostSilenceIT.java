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
 * ({@link VanishingHost}: the dump's connection goes silent, never reset, once 1 MiB of it came through while
 * the table's rows stream, or after 16 KiB while {@code pg_dump} still reads the catalog and has written nothing).
 * TCP would let {@code pg_dump} wait for hours; the worker stops a dump tool silent for
 * {@code dump-stall-timeout} (3 s here, 10 min by default), counts the attempt as a transient failure, and
 * the retry after the backoff, on a new connection, completes the backup once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseHostSilenceIT {

  private FaultRig rig;
  private PostgresCluster cluster;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("host-silence").startKafka().startMongo();
    cluster = rig.startCluster();
    rig.startWorker("--backstop.worker.retry-backoff=2s", "--backstop.worker.dump-attempts=3",
        "--backstop.worker.dump-stall-timeout=3s");
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  /** The addons registered next are reached through a new host that vanishes after {@code bytes} from the server. */
  private VanishingHost hostVanishingAfter(long bytes) throws Exception {
    VanishingHost host = new VanishingHost(cluster.port(), bytes);
    // closed before the cluster stops: the silent connection's backend goes with it
    rig.atClose(host);
    rig.database(new FaultRig.Database("127.0.0.1", host.port(), "postgres", "shop", sql -> cluster.psql("shop", sql)));
    return host;
  }

  @Test
  void a_database_host_gone_silent_mid_dump_is_given_up_after_the_stall_timeout_and_the_retry_completes_once() throws Exception {
    // pg_dump writes its first byte after ~0.7 MB of catalog rows and locks; at 1 MiB the table's rows are streaming
    VanishingHost host = hostVanishingAfter(1 << 20);
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

  @Test
  void a_database_host_gone_silent_while_pg_dump_reads_the_catalog_is_given_up_the_same_way() throws Exception {
    // the first 16 KiB the dump receives are catalog rows: the host goes before pg_dump writes its first byte
    VanishingHost early = hostVanishingAfter(16 << 10);
    rig.register("catalog");
    rig.request("catalog", "catalog-b");
    assertThat(early.awaitVanished(Duration.ofSeconds(60))).as("the dump's connection went silent").isTrue();

    FaultRig.Figures figures = rig.outcome("catalog-b", Duration.ofSeconds(60));
    Document job = rig.job("catalog-b");
    List<String> archives = rig.archives("catalog", "catalog-b");
    assertThat(job.getInteger("failures")).isEqualTo(1);
    assertThat(job.getString("lastFailure")).startsWith("pg_dump stopped answering: nothing came out of it for 3 s");
    figures.assertCompletedOnce(archives);
  }
}
