package dev.backstop.worker.job;

import dev.backstop.inprocess.InProcessKafka;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A fault of docs/reliability.md: the broker stopped while a dump runs and started again (same log, same
 * port). The dump is held mid-way by a lock on its table for as long as the broker is down, so that its
 * progress and its outcome meet the outage. The backup completes once, with one archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokerRestartIT {

  private FaultRig rig;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("restart").startKafka().startMongo().localDatabase("backstop_restart");
    rig.startWorker();
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void a_broker_restarted_while_a_dump_runs_leaves_one_completed_backup_and_one_archive() throws Exception {
    rig.register("restart");
    long began = System.nanoTime();
    try (var lock = rig.holdDump("restart", "restart-b")) {
      rig.kafka.close();
      Thread.sleep(3000);
      rig.kafka = InProcessKafka.start(rig.dir.resolve("kafka"), 0, 0);
      lock.release();
    }

    rig.assertCompletedOnce("broker restarted mid-dump", "restart", "restart-b", Duration.ofSeconds(120), began);
  }
}
