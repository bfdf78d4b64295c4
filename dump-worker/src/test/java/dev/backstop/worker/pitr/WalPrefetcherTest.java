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
 * The restore job's side of {@code restore_command} ({@code fetch.sh}'s protocol: {@code requests/<name>.<pid>}
 * asked, {@code ready/<name>} or a {@code .missing} / {@code .failed} marker answered, {@code taken/<name>} when
 * the script took a file fetched ahead without asking), over an in-memory archive of 1 MiB segments; the last
 * test runs the real script.
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
      Files.writeString(wal.resolve("taken").resolve(name(2)), "");
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
      // a failure of another kind is answered the same way, at once, not left for the call to wait out
      store.failing = 5;
      store.unchecked = true;
      ask(name(5));
      await().atMost(WAIT).until(() -> Files.exists(wal.resolve("ready").resolve(name(5) + ".failed")));
      assertThat(wal.resolve("ready").resolve(name(3))).doesNotExist();
      assertThat(prefetcher.segmentsServed()).isZero();
    }
  }

  @Test
  void a_server_taking_segments_faster_than_the_job_looks_and_asking_again_for_ones_it_has_gets_each_whole() throws Exception {
    for (long n = 1; n <= 8; n++) {
      store.segments.put(n, segment(n));
    }
    Path script = Files.writeString(wal.resolve("fetch.sh"), ScratchServer.fetchScript(wal, 250));
    Path into = Files.createDirectories(wal.resolve("pg_wal")).resolve("RECOVERYXLOG");
    try (WalPrefetcher prefetcher = start(8)) {
      for (long n = 1; n <= 6; n++) {
        assertThat(restoreCommand(script, name(n), into)).as("segment %d", n).isZero();
        assertThat(Files.readAllBytes(into)).isEqualTo(segment(n));
      }
      // promotion reads the segment recovery ended in once more, right after replay took it
      assertThat(restoreCommand(script, name(6), into)).as("segment 6 again").isZero();
      assertThat(Files.readAllBytes(into)).isEqualTo(segment(6));
      // an earlier one asked again is read again, and does not move the lookahead back
      assertThat(restoreCommand(script, name(4), into)).as("segment 4 again").isZero();
      assertThat(Files.readAllBytes(into)).isEqualTo(segment(4));
      assertThat(restoreCommand(script, name(9), into)).as("past the archive's end").isEqualTo(1);
      await().atMost(WAIT).until(() -> prefetcher.segmentsServed() == 8);
      assertThat(prefetcher.servedSegment()).isEqualTo(6);
      assertThat(prefetcher.bytesServed()).isEqualTo(8 * SEGMENT);
      try (var left = Files.list(wal.resolve("requests"))) {
        assertThat(left.toList()).as("requests left behind").isEmpty();
      }
    }
  }

  @Test
  void a_name_that_is_no_wal_file_name_is_refused_by_the_script_before_it_becomes_a_path() throws Exception {
    Path script = Files.writeString(wal.resolve("fetch.sh"), ScratchServer.fetchScript(wal, 250));
    Path into = Files.createDirectories(wal.resolve("pg_wal")).resolve("RECOVERYXLOG");
    try (WalPrefetcher prefetcher = start(2)) {
      for (String hostile : List.of("../ready/x", "-rf", "a'b", "a\"b", "a b", "x\ny", "a=b", "#x", "$(touch pwned)", ".hidden", "",
          "0".repeat(65))) {
        assertThat(restoreCommand(script, hostile, into)).as("restore_command for %s", hostile).isEqualTo(126);
      }
      // nothing asked, answered, written or run: every folder as it was
      for (String folder : List.of("requests", "taken", "ready", "ahead", "pg_wal")) {
        try (var files = Files.list(wal.resolve(folder))) {
          assertThat(files.toList()).as(folder).isEmpty();
        }
      }
      try (var made = Files.list(wal)) {
        assertThat(made.map(p -> p.getFileName().toString()).toList())
            .containsExactlyInAnyOrder("requests", "taken", "ready", "ahead", "fetch.sh", "pg_wal");
      }
      assertThat(prefetcher.segmentsServed()).isZero();
    }
  }

  /** What the server does: runs restore_command for {@code name} and {@code into}; its exit status. */
  private static int restoreCommand(Path script, String name, Path into) throws Exception {
    Process process = new ProcessBuilder("sh", script.toString(), name, into.toString()).redirectErrorStream(true)
        .directory(into.getParent().toFile()).start();
    if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("restore_command for " + name + " did not end within 30 s");
    }
    return process.exitValue();
  }

  private WalPrefetcher start(int lookahead) throws IOException {
    for (String dir : List.of("requests", "taken", "ready", "ahead")) {
      Files.createDirectories(wal.resolve(dir));
    }
    return new WalPrefetcher(store, new ClusterWal("addon-1", 7_000_000_000_000_000_001L), SEGMENT, new TimelineHistory(1, List.of()), wal, null, lookahead, 2).start();
  }

  /** What fetch.sh does when {@code name} is not ready: asks for it; returns where the answer will be. */
  private Path ask(String name) throws IOException {
    Files.writeString(wal.resolve("requests").resolve(name + ".4242"), "");
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
    volatile boolean unchecked;

    @Override
    public Optional<byte[]> fetchSegment(ClusterWal cluster, WalSegmentName segment) throws IOException {
      if (segment.segmentNumber() == failing) {
        if (unchecked) {
          throw new IllegalStateException("the reader broke");
        }
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
