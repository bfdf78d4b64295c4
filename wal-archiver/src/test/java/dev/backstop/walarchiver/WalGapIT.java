package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.Lsn;
import dev.backstop.testing.PostgresCluster;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A real server removing WAL the slot held: the next stream sees the slot invalidated, reports the gap from
 * where the archive ended, replaces the slot and archives again from the server's WAL after the hole.
 */
class WalGapIT {

  static final String ADDON = "addon-walgap-it";

  @Test
  void a_slot_invalidated_by_max_slot_wal_keep_size_is_a_gap_and_the_stream_starts_again_past_it() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path storeDir = Files.createTempDirectory("walgap-store");
    FilesystemArchiveStore archive = new FilesystemArchiveStore(storeDir);
    byte[] master = new byte[32];
    new SecureRandom().nextBytes(master);
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(archive, new ArchiveCipher(archive, master),
        Files.createTempDirectory("walgap-scratch"));
    StreamTarget target = new StreamTarget(ADDON, "127.0.0.1", port, "postgres", null, "test: the primary");
    List<String> heard = new CopyOnWriteArrayList<>();
    AtomicLong systemId = new AtomicLong();
    WalStream.Listener listener = new WalStream.Listener() {
      @Override
      public void identified(long id, long segmentSize) {
        systemId.set(id);
      }

      @Override
      public void streaming(int timeline, Lsn start) {
        heard.add("streaming " + start);
      }

      @Override
      public void gap(Lsn from, String reason) {
        heard.add("gap from " + from + ": " + reason);
      }
    };

    try (PostgresCluster primary = PostgresCluster.primary(port)) {
      primary.psql("postgres", "alter system set max_slot_wal_keep_size = '1MB'");
      primary.psql("postgres", "select pg_reload_conf()");

      WalStream first = new WalStream(target, wal, Clock.systemUTC(), Duration.ofMillis(100), listener);
      Thread t1 = Thread.ofPlatform().start(first);
      primary.psql("postgres", "create table t as select g from generate_series(1, 1000) g");
      Lsn written = Lsn.parse(primary.psql("postgres", "select pg_current_wal_lsn()"));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.durable() != null && !first.durable().isBefore(written));
      first.stop();
      t1.join(10_000);
      Lsn archived = first.durable();

      // with nobody streaming, the server moves on past the cap and a checkpoint invalidates the slot
      for (int i = 0; i < 4; i++) {
        primary.psql("postgres", "create table s" + i + " as select 1 as x; select pg_switch_wal()");
      }
      primary.psql("postgres", "checkpoint");
      assertThat(primary.psql("postgres", "select wal_status from pg_replication_slots where slot_name = '"
          + target.slotName() + "'")).isEqualTo("lost");

      WalStream second = new WalStream(target, wal, Clock.systemUTC(), Duration.ofMillis(100), listener,
          new WalStream.Resume(systemId.get(), archived, 1));
      Thread t2 = Thread.ofPlatform().start(second);
      try {
        primary.psql("postgres", "create table after_gap as select g from generate_series(1, 1000) g");
        Lsn later = Lsn.parse(primary.psql("postgres", "select pg_current_wal_lsn()"));
        await().atMost(Duration.ofSeconds(20)).until(() -> second.durable() != null && !second.durable().isBefore(later));
      } finally {
        second.stop();
        t2.join(10_000);
      }

      List<String> afterStop = heard.subList(1, heard.size());
      assertThat(afterStop.get(0)).startsWith("gap from " + archived + ": the server invalidated slot " + target.slotName());
      assertThat(afterStop).filteredOn(h -> h.startsWith("gap")).as("reported once").hasSize(1);
      Lsn restart = Lsn.parse(afterStop.get(1).substring("streaming ".length()));
      assertThat(restart).as("the new slot starts past the archive").isGreaterThan(archived);
      assertThat(primary.psql("postgres", "select wal_status from pg_replication_slots where slot_name = '"
          + target.slotName() + "'")).isIn("reserved", "extended");
    }
  }
}
