package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class WalContinuityTest {

  static final long SEG = 16L * 1024 * 1024;

  static StoredWal wal(long start, long end) {
    return new StoredWal("k" + start, WalSegmentName.of(1, new Lsn(start), SEG), new Lsn(start), new Lsn(end), true);
  }

  @Test
  void overlapping_objects_in_any_order_cover_their_union() {
    assertThat(WalContinuity.firstHole(List.of(wal(300, 500), wal(0, 200), wal(100, 300)), new Lsn(0), new Lsn(500)))
        .isEmpty();
  }

  @Test
  void the_first_uncovered_position_is_the_hole() {
    assertThat(WalContinuity.firstHole(List.of(wal(0, 200), wal(250, 500)), new Lsn(0), new Lsn(500)))
        .contains(new Lsn(200));
    assertThat(WalContinuity.firstHole(List.of(wal(0, 200)), new Lsn(0), new Lsn(500))).contains(new Lsn(200));
    assertThat(WalContinuity.firstHole(List.of(), new Lsn(0), new Lsn(1))).contains(new Lsn(0));
  }
}
