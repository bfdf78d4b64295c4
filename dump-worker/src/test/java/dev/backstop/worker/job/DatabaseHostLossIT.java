package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.PostgresCluster;
import dev.backstop.testing.TestMongo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A fault of docs/reliability.md: the database host going away while its dump runs — a throwaway
 * PostgreSQL cluster stopped at once ({@code pg_ctl -m immediate}: the postmaster quits and takes its
 * backends, the dump's among them, without a shutdown) while the dump waits on a lock, then started again.
 * The attempt fails with the server's reason, the worker tries again after its transient-failure backoff,
 * and the backup completes once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseHostLossIT {

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private Path dir;
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private PostgresCluster cluster;
  private ConfigurableApplicationContext worker;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("backstop-host-loss");
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    mongo = TestMongo.start();
    cluster = PostgresCluster.primary(FaultRig.freePort());
    cluster.psql("postgres", "CREATE DATABASE shop");
    cluster.psql("shop", "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    worker = FaultRig.worker(kafka, mongo.uri(), secretsKey, "host-loss", dir,
        "--backstop.worker.retry-backoff=2s", "--backstop.worker.dump-attempts=3");
  }

  @AfterAll
  void stop() throws Exception {
    if (worker != null) {
      worker.close();
    }
    kafka.close();
    mongo.close();
    if (cluster != null) {
      cluster.close();
    }
    FaultRig.deleteTree(dir);
  }

  @Test
  void a_database_host_lost_mid_dump_fails_the_attempt_with_its_reason_and_the_retry_completes_once() throws Exception {
    FaultRig.register(kafka, sealer, "hostloss", "shop", "postgres", "127.0.0.1", cluster.port());
    long began = System.nanoTime();
    try (var lock = new FaultRig.TableLock("127.0.0.1", cluster.port(), "postgres", "shop", "t", dir.resolve("lock.log"),
        sql -> cluster.psql("shop", sql))) {
      FaultRig.request(kafka, "hostloss", "hostloss-b");
      await().atMost(Duration.ofSeconds(60)).until(() -> new FaultRig.Figures("hostloss-b", FaultRig.events(kafka)).started() > 0);
      lock.awaitDumpBlocked();
      cluster.stop();
      // the lock's session went with the server: the attempt after the backoff finds the table free
      cluster.start();
    }

    FaultRig.Figures figures = FaultRig.outcome(kafka, "hostloss-b", Duration.ofSeconds(60));
    Document job;
    try (var client = MongoClients.create(mongo.uri())) {
      job = client.getDatabase("worker-host-loss").getCollection("jobs").find(new Document("_id", "hostloss-b")).first();
    }
    List<String> archives = FaultRig.archives(dir.resolve("archives"), "hostloss", "hostloss-b");
    System.out.printf("database host lost mid-dump: requested 1, started %d, attempts failed %s (last: %s), completed %d, "
        + "failed %d %s, lost %d, duplicated %d, archives %d, %d s%n", figures.started(), job.get("failures"),
        job.get("lastFailure"), figures.completed(), figures.failed(), figures.reasons(), figures.lost(), figures.duplicated(),
        archives.size(), Duration.ofNanos(System.nanoTime() - began).toSeconds());
    assertThat(job.getInteger("failures")).as("attempts that failed before the one that completed").isPositive();
    assertThat(job.getString("lastFailure")).as("the failed attempt's reason").isNotBlank();
    assertThat(figures.completed()).as("completed").isEqualTo(1);
    assertThat(figures.failed()).as("failed").isZero();
    assertThat(figures.started()).as("started").isEqualTo(1);
    assertThat(figures.lost()).as("lost").isZero();
    assertThat(figures.duplicated()).as("duplicated").isZero();
    assertThat(archives).as("archives").hasSize(1);
  }
}
