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
 * A fault of docs/reliability.md: the database host going away while its dump runs — a throwaway
 * PostgreSQL cluster stopped at once ({@code pg_ctl -m immediate}: the postmaster quits and takes its
 * backends, the dump's among them, without a shutdown) while the dump waits on a lock, then started again.
 * The attempt fails with the server's reason, the worker tries again after its transient-failure backoff,
 * and the backup completes once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseHostLossIT {

  private FaultRig rig;
  private PostgresCluster cluster;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("host-loss").startKafka().startMongo();
    cluster = rig.startCluster();
    rig.startWorker("--backstop.worker.retry-backoff=2s", "--backstop.worker.dump-attempts=3");
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void a_database_host_lost_mid_dump_fails_the_attempt_with_its_reason_and_the_retry_completes_once() throws Exception {
    rig.register("hostloss");
    long began = System.nanoTime();
    try (var lock = rig.holdDump("hostloss", "hostloss-b")) {
      cluster.stop();
      // the lock's session went with the server: the attempt after the backoff finds the table free
      cluster.start();
    }

    FaultRig.Figures figures = rig.outcome("hostloss-b", Duration.ofSeconds(60));
    Document job = rig.job("hostloss-b");
    List<String> archives = rig.archives("hostloss", "hostloss-b");
    System.out.printf("database host lost mid-dump: requested 1, started %d, attempts failed %s (last: %s), completed %d, "
        + "failed %d %s, lost %d, duplicated %d, archives %d, %d s%n", figures.started(), job.get("failures"),
        job.get("lastFailure"), figures.completed(), figures.failed(), figures.reasons(), figures.lost(), figures.duplicated(),
        archives.size(), Duration.ofNanos(System.nanoTime() - began).toSeconds());
    assertThat(job.getInteger("failures")).as("attempts that failed before the one that completed").isPositive();
    assertThat(job.getString("lastFailure")).as("the failed attempt's reason").isNotBlank();
    figures.assertCompletedOnce(archives);
  }
}
