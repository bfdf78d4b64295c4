package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveWalSegmentStoreTest {

  static final long SEG = 16L * 1024 * 1024;
  static final WalSegmentName SEGMENT = WalSegmentName.parse("000000010000000000000003", SEG);
  static final ClusterWal A1 = new ClusterWal("a1", 7_400_000_000_000_000_001L);

  @TempDir Path tmp;
  FilesystemArchiveStore archive;
  ArchiveWalSegmentStore wal;
  byte[] plain;

  @BeforeEach
  void setUp() throws IOException {
    archive = new FilesystemArchiveStore(tmp.resolve("store"));
    byte[] master = new byte[32];
    new Random(1).nextBytes(master);
    wal = new ArchiveWalSegmentStore(archive, new ArchiveCipher(archive, master), tmp.resolve("scratch"));
    plain = new byte[(int) SEG];
    new Random(2).nextBytes(plain);
  }

  void chunk(int from, int to) throws IOException {
    wal.putChunk(A1, SEGMENT, SEGMENT.startLsn().plus(from), ByteBuffer.wrap(plain, from, to - from));
  }

  @Test
  void overlapping_chunks_assemble_into_the_segment_zero_padded_after_the_last_byte() throws IOException {
    chunk(0, 1000);
    chunk(500, 3000); // a restarted stream re-sends from an earlier position
    chunk(3000, 7000);

    byte[] fetched = wal.fetchSegment(A1, SEGMENT).orElseThrow();

    assertThat(fetched).hasSize((int) SEG);
    assertThat(Arrays.copyOf(fetched, 7000)).isEqualTo(Arrays.copyOf(plain, 7000));
    assertThat(Arrays.copyOfRange(fetched, 7000, 9000)).containsOnly(0);
  }

  @Test
  void a_hole_ends_the_assembled_segment_there() throws IOException {
    chunk(0, 1000);
    chunk(2000, 3000);

    byte[] fetched = wal.fetchSegment(A1, SEGMENT).orElseThrow();

    assertThat(Arrays.copyOfRange(fetched, 1000, 3000)).containsOnly(0);
  }

  @Test
  void a_segment_with_nothing_at_its_start_is_missing() throws IOException {
    chunk(100, 1000);

    assertThat(wal.fetchSegment(A1, SEGMENT)).isEmpty();
    assertThat(wal.fetchSegment(A1, SEGMENT.next())).isEmpty();
  }

  @Test
  void a_whole_segment_replaces_its_chunks_and_is_stored_compressed_and_unreadable() throws IOException {
    byte[] text = ("INSERT INTO t VALUES ('backstop');").repeat((int) (SEG / 34) + 1).getBytes(StandardCharsets.UTF_8);
    byte[] segment = Arrays.copyOf(text, (int) SEG);
    wal.putChunk(A1, SEGMENT, SEGMENT.startLsn(), ByteBuffer.wrap(segment, 0, 4096));

    wal.putSegment(A1, SEGMENT, segment);
    wal.deleteChunks(A1, SEGMENT);

    assertThat(wal.list(A1, 1, SEG)).extracting(StoredWal::chunk).containsExactly(false);
    assertThat(wal.fetchSegment(A1, SEGMENT).orElseThrow()).isEqualTo(segment);
    byte[] atRest = Files.readAllBytes(archive.localFile(PitrKeys.segment(A1, SEGMENT)).orElseThrow());
    assertThat(atRest.length).isLessThan((int) SEG / 10);
    assertThat(new String(atRest, StandardCharsets.ISO_8859_1)).doesNotContain("backstop");
  }

  @Test
  void chunks_are_never_deleted_before_their_whole_segment_is_stored() throws IOException {
    chunk(0, 1000);

    assertThatThrownBy(() -> wal.deleteChunks(A1, SEGMENT)).isInstanceOf(IllegalStateException.class);
    assertThat(wal.fetchSegment(A1, SEGMENT)).isPresent();
  }

  @Test
  void a_chunk_copied_to_another_range_does_not_decrypt() throws IOException {
    chunk(0, 1000);
    String key = PitrKeys.chunk(A1, SEGMENT, SEGMENT.startLsn(), SEGMENT.startLsn().plus(1000));
    Path moved = tmp.resolve("moved");
    Files.copy(archive.localFile(key).orElseThrow(), moved);
    archive.delete(key);
    WalSegmentName other = SEGMENT.next();
    archive.put(PitrKeys.chunk(A1, other, other.startLsn(), other.startLsn().plus(1000)), moved);

    assertThatThrownBy(() -> wal.fetchSegment(A1, other)).isInstanceOf(IOException.class);
  }

  @Test
  void a_history_file_round_trips() throws IOException {
    byte[] content = "1\t0/40001C0\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8);
    wal.putHistory(A1, 2, content);

    assertThat(wal.history(A1, 2)).contains(content);
    assertThat(wal.history(A1, 3)).isEmpty();
  }
}
