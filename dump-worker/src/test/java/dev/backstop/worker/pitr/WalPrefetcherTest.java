package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.StoredWal;
import dev.backstop.pitr.TimelineHistory;
import dev.backstop.pitr.WalSegmentName;
import dev.backstop.pitr.WalSegmentStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore job's side of {@code restore_command} ({@code fetch.sh}'s protocol: {@code requests/<name>}
 * asked, {@code ready/<name>} or a {@code .missing} / {@code .failed} marker answered), over an in-memory
 * archive of 1 MiB segments.
 */
class WalPrefetcherTest {

  private static final long SEGMENT = 1024 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir
  Path wal;

  private final MemoryStore store = new MemoryStore();

  @Test
  void segments_after_the_one_asked_for_are_put_ready_before_the_server_asks_for_them() throws Exception {
    for (long n = 1; n <= 8; n++) {
      store.segments.put(n, segment(n));
    }
    try (WalPrefetcher prefetcher = start(3)) {
      Path first = ask(name(1));
      await().atMost(WAIT).until(() -> Files.exists(first));
      assertThat(Files.readAllBytes(first)).isEqualTo(segment(1));
      Files.delete(first); // what fetch.sh's mv does

      // never asked for: there, whole, when the server's restore_command first looks
      for (long n = 2; n <= 4; n++) {
        Path ahead = wal.resolve("ready").resolve(name(n));
        await().atMost(WAIT).until(() -> Files.exists(ahead));
        assertThat(Files.readAllBytes(ahead)).isEqualTo(segment(n));
      }
      assertThat(wal.resolve("ready").resolve(name(5))).doesNotExist();

      // taking one that was ready moves the lookahead on
      Files.delete(wal.resolve("ready").resolve(name(2)));
      ask(name(2));
      await().atMost(WAIT).until(() -> Files.exists(wal.resolve("ready").resolve(name(5))));
      await().atMost(WAIT).until(() -> prefetcher.segmentsServed() == 2);
      assertThat(prefetcher.bytesServed()).isEqualTo(2 * SEGMENT);
      assertThat(prefetcher.servedSegment()).isEqualTo(2);
      // nothing plain left behind in the staging folder
      try (var staged = Files.list(wal.resolve("ahead"))) {
        assertThat(staged.toList()).isEmpty();
      }
    }
  }

  @Test
  void a_file_the_archive_does_not_hold_is_answered_missing_and_a_store_failure_failed() throws Exception {
    store.segments.put(1L, segment(1));
    store.failing = 7;
    try (WalPrefetcher prefetcher = start(2)) {
      ask(name(3));
      await().atMost(WAIT).until(() -> Files.exists(wal.resolve("ready").resolve(name(3) + ".missing")));
      ask("00000002.history");
      await().atMost(WAIT).until(() -> Files.exists(wal.resolve("ready").resolve("00000002.history.missing")));
      ask(name(7));
      await().atMost(WAIT).until(() -> Files.exists(wal.resolve("ready").resolve(name(7) + ".failed")));
      assertThat(wal.resolve("ready").resolve(name(3))).doesNotExist();
      assertThat(prefetcher.segmentsServed()).isZero();
    }
  }

  private WalPrefetcher start(int lookahead) throws IOException {
    for (String dir : List.of("requests", "ready", "ahead")) {
      Files.createDirectories(wal.resolve(dir));
    }
    return new WalPrefetcher(store, new ClusterWal("addon-1", 7_000_000_000_000_000_001L), SEGMENT, new TimelineHistory(1, List.of()), wal, null, lookahead, 2).start();
  }

  /** What fetch.sh does first: asks for {@code name}; returns where the answer will be. */
  private Path ask(String name) throws IOException {
    Files.writeString(wal.resolve("requests").resolve(name), "");
    return wal.resolve("ready").resolve(name);
  }

  private static String name(long number) {
    return new WalSegmentName(1, number, SEGMENT).fileName();
  }

  private static byte[] segment(long number) {
    byte[] bytes = new byte[(int) SEGMENT];
    Arrays.fill(bytes, (byte) number);
    return bytes;
  }

  /** Whole segments of timeline 1 by number; {@code failing} throws as a store that cannot be read. */
  private static final class MemoryStore implements WalSegmentStore {
    final Map<Long, byte[]> segments = new ConcurrentHashMap<>();
    volatile long failing = -1;

    @Override
    public Optional<byte[]> fetchSegment(ClusterWal cluster, WalSegmentName segment) throws IOException {
      if (segment.segmentNumber() == failing) {
        throw new IOException("the store is down");
      }
      return segment.timeline() == 1 ? Optional.ofNullable(segments.get(segment.segmentNumber())) : Optional.empty();
    }

    @Override
    public Optional<byte[]> history(ClusterWal cluster, int timeline) {
      return Optional.empty();
    }

    @Override
    public StoredObject putChunk(ClusterWal cluster, WalSegmentName segment, Lsn start, ByteBuffer plain) {
      throw new UnsupportedOperationException();
    }

    @Override
    public StoredObject putSegment(ClusterWal cluster, WalSegmentName segment, byte[] plain) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void putHistory(ClusterWal cluster, int timeline, byte[] content) {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<StoredWal> list(ClusterWal cluster, int timeline, long segmentSize) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void deleteChunks(ClusterWal cluster, WalSegmentName segment) {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean delete(StoredWal wal) {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<Long> systems(String addonId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.util.OptionalLong legacyOwner(String addonId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.util.OptionalLong claimLegacy(String addonId, long systemId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int deleteCluster(ClusterWal cluster) {
      throw new UnsupportedOperationException();
    }
  }
}
