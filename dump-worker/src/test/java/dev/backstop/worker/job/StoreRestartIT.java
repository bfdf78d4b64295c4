package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.LocalPostgres;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A fault of docs/reliability.md: the store (the MongoDB-wire server holding the worker's job ledger)
 * stopped while a dump runs and started again on the same port and data. The dump is held mid-way by a
 * lock on its table for as long as the store is down, so that its heartbeats and its outcome meet the
 * outage. The backup completes once, with one archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StoreRestartIT {

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private Path dir;
  private InProcessKafka kafka;
  private InProcessMongo mongo;
  private int mongoPort;
  private String database;
  private ConfigurableApplicationContext worker;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("backstop-store-restart");
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    // on disk, so that the server started again finds the ledger the worker wrote
    mongo = InProcessMongo.persistent(dir.resolve("mongo"), 0);
    mongoPort = URI.create(mongo.uri()).getPort();
    database = LocalPostgres.createDatabase("backstop_store_restart");
    LocalPostgres.psql(database, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    worker = FaultRig.worker(kafka, mongo.uri(), secretsKey, "store-restart", dir,
        "--backstop.worker.heartbeat-interval=1s");
  }

  @AfterAll
  void stop() throws Exception {
    if (worker != null) {
      worker.close();
    }
    kafka.close();
    mongo.close();
    LocalPostgres.dropDatabase(database);
    FaultRig.deleteTree(dir);
  }

  @Test
  void the_store_restarted_while_a_dump_runs_leaves_one_completed_backup_and_one_archive() throws Exception {
    FaultRig.register(kafka, sealer, "store", database, LocalPostgres.USER, LocalPostgres.HOST, LocalPostgres.PORT);
    long began = System.nanoTime();
    try (var lock = new FaultRig.TableLock(LocalPostgres.HOST, LocalPostgres.PORT, LocalPostgres.USER, database, "t",
        dir.resolve("lock.log"), sql -> LocalPostgres.psql(database, sql))) {
      FaultRig.request(kafka, "store", "store-b");
      await().atMost(Duration.ofSeconds(60)).until(() -> new FaultRig.Figures("store-b", FaultRig.events(kafka)).started() > 0);
      lock.awaitDumpBlocked();

      mongo.close();
      // a few heartbeats: the worker meets the outage while it holds the job
      Thread.sleep(3000);
      mongo = InProcessMongo.persistent(dir.resolve("mongo"), mongoPort);
      lock.release();
    }

    FaultRig.Figures figures = FaultRig.outcome(kafka, "store-b", Duration.ofSeconds(60));
    List<String> archives = FaultRig.archives(dir.resolve("archives"), "store", "store-b");
    System.out.printf("store restarted mid-dump: requested 1, started %d, completed %d, failed %d %s, lost %d, duplicated %d, "
        + "archives %d, %d s%n", figures.started(), figures.completed(), figures.failed(), figures.reasons(), figures.lost(),
        figures.duplicated(), archives.size(), Duration.ofNanos(System.nanoTime() - began).toSeconds());
    assertThat(figures.completed()).as("completed").isEqualTo(1);
    assertThat(figures.failed()).as("failed").isZero();
    assertThat(figures.started()).as("started").isEqualTo(1);
    assertThat(figures.lost()).as("lost").isZero();
    assertThat(figures.duplicated()).as("duplicated").isZero();
    assertThat(archives).as("archives").hasSize(1);
  }
}
