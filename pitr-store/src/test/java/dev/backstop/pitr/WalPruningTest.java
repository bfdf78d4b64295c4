package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WalPruningTest {

  static final long SEG = 16L * 1024 * 1024;

  static StoredWal segment(int tli, long segNo) {
    WalSegmentName name = new WalSegmentName(tli, segNo, SEG);
    return new StoredWal("seg-" + name, name, name.startLsn(), name.endLsn(), false);
  }

  static StoredWal chunk(int tli, long start, long end) {
    WalSegmentName name = WalSegmentName.of(tli, new Lsn(start), SEG);
    return new StoredWal("chunk-" + start, name, new Lsn(start), new Lsn(end), true);
  }

  static BaseRef base(String id, int tli, long startLsn) {
    return new BaseRef(id, Instant.parse("2026-11-20T00:00:00Z"), tli, new Lsn(startLsn), new Lsn(startLsn + 4096));
  }

  /** Segments 1..6 of timeline 1, the chunks of segment 7 (the one being written). */
  static List<StoredWal> archive() {
    List<StoredWal> stored = new ArrayList<>();
    for (long s = 1; s <= 6; s++) {
      stored.add(segment(1, s));
    }
    stored.add(chunk(1, 7 * SEG, 7 * SEG + 1000));
    stored.add(chunk(1, 7 * SEG + 1000, 7 * SEG + 5000));
    return stored;
  }

  @Test
  void segments_wholly_below_the_oldest_kept_base_go_and_the_one_it_starts_in_stays() {
    List<StoredWal> gone = WalPruning.deletable(archive(), List.of(base("newer", 1, 5 * SEG + 10), base("oldest", 1, 3 * SEG + 200)));

    assertThat(gone).extracting(StoredWal::key).containsExactly("seg-000000010000000000000001", "seg-000000010000000000000002");
  }

  @Test
  void a_base_starting_exactly_at_a_segment_start_keeps_that_segment_and_frees_the_one_before() {
    assertThat(WalPruning.deletable(archive(), List.of(base("b", 1, 4 * SEG)))).extracting(StoredWal::key)
        .containsExactly("seg-000000010000000000000001", "seg-000000010000000000000002", "seg-000000010000000000000003");
  }

  @Test
  void head_chunks_of_the_segment_a_base_starts_in_are_never_deleted() {
    // the segment is still being written as chunks; the base starts after the first chunk's end
    List<StoredWal> gone = WalPruning.deletable(archive(), List.of(base("b", 1, 7 * SEG + 2000)));

    assertThat(gone).noneMatch(StoredWal::chunk);
    assertThat(gone).hasSize(6);
  }

  @Test
  void nothing_is_deleted_when_no_base_is_kept() {
    assertThat(WalPruning.deletable(archive(), List.of())).isEmpty();
  }

  @Test
  void wal_of_an_older_timeline_below_a_base_on_the_newer_one_goes_and_wal_at_or_after_it_stays() {
    List<StoredWal> stored = new ArrayList<>(archive());
    stored.add(segment(2, 6)); // timeline 2 forked inside segment 6
    stored.add(segment(2, 7));

    List<StoredWal> gone = WalPruning.deletable(stored, List.of(base("after-promotion", 2, 6 * SEG + 100)));

    assertThat(gone).extracting(StoredWal::key).containsExactly("seg-000000010000000000000001",
        "seg-000000010000000000000002", "seg-000000010000000000000003", "seg-000000010000000000000004",
        "seg-000000010000000000000005");
  }

  @Test
  void every_byte_a_kept_base_replays_stays() {
    List<StoredWal> stored = archive();
    List<BaseRef> kept = List.of(base("a", 1, 2 * SEG + 77), base("b", 1, 6 * SEG + 1));

    List<StoredWal> gone = WalPruning.deletable(stored, kept);

    for (BaseRef b : kept) {
      List<StoredWal> left = stored.stream().filter(w -> !gone.contains(w)).toList();
      assertThat(WalContinuity.firstHole(left, b.startLsn().segmentStart(SEG), new Lsn(7 * SEG + 5000)))
          .as("WAL from the start of %s's segment", b.backupId()).isEmpty();
    }
  }
}
