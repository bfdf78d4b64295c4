package dev.backstop.worker.job;

import dev.backstop.inprocess.InProcessMongo;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A fault of docs/reliability.md: the store (the MongoDB-wire server holding the worker's job ledger)
 * stopped while a dump runs and started again on the same port and data. The dump is held mid-way by a
 * lock on its table for as long as the store is down, so that its heartbeats and its outcome meet the
 * outage. The backup completes once, with one archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StoreRestartIT {

  private FaultRig rig;
  private int mongoPort;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("store-restart").startKafka();
    // on disk, so that the server started again finds the ledger the worker wrote
    rig.mongo = InProcessMongo.persistent(rig.dir.resolve("mongo"), 0);
    mongoPort = URI.create(rig.mongo.uri()).getPort();
    rig.localDatabase("backstop_store_restart");
    rig.startWorker("--backstop.worker.heartbeat-interval=1s");
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void the_store_restarted_while_a_dump_runs_leaves_one_completed_backup_and_one_archive() throws Exception {
    rig.register("store");
    long began = System.nanoTime();
    try (var lock = rig.holdDump("store", "store-b")) {
      rig.mongo.close();
      // a few heartbeats: the worker meets the outage while it holds the job
      Thread.sleep(3000);
      rig.mongo = InProcessMongo.persistent(rig.dir.resolve("mongo"), mongoPort);
      lock.release();
    }

    rig.assertCompletedOnce("store restarted mid-dump", "store", "store-b", Duration.ofSeconds(60), began);
  }
}
