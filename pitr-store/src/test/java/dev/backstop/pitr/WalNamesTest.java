package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WalNamesTest {

  static final long SIXTEEN_MIB = 16L * 1024 * 1024;

  @Test
  void an_lsn_reads_and_writes_the_servers_x_slash_y_form() {
    Lsn lsn = Lsn.parse("1/40001C0");

    assertThat(lsn.value()).isEqualTo(0x1_040001C0L);
    assertThat(lsn).hasToString("1/40001C0");
    assertThat(lsn.hex16()).isEqualTo("00000001040001C0");
    assertThat(Lsn.fromHex16(lsn.hex16())).isEqualTo(lsn);
    assertThatThrownBy(() -> Lsn.parse("40001C0")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void a_segment_name_is_the_file_name_postgresql_writes() {
    WalSegmentName name = WalSegmentName.of(2, Lsn.parse("1/40001C0"), SIXTEEN_MIB);

    assertThat(name.fileName()).isEqualTo("000000020000000100000004");
    assertThat(name.startLsn()).isEqualTo(Lsn.parse("1/4000000"));
    assertThat(name.endLsn()).isEqualTo(Lsn.parse("1/5000000"));
    assertThat(WalSegmentName.parse("000000020000000100000004", SIXTEEN_MIB)).isEqualTo(name);
    assertThat(WalSegmentName.parse("0000000100000000000000FF", SIXTEEN_MIB).next().fileName())
        .isEqualTo("000000010000000100000000");
    assertThat(WalSegmentName.historyTimeline("00000002.history")).isEqualTo(2);
    assertThat(WalSegmentName.historyTimeline("000000020000000100000004")).isEqualTo(-1);
  }

  @Test
  void chunk_keys_sort_like_their_positions_and_give_their_range_back() {
    WalSegmentName seg = WalSegmentName.parse("000000010000000000000003", SIXTEEN_MIB);
    // system identifiers are unsigned 64-bit: this one is negative as a Java long
    ClusterWal cluster = new ClusterWal("addon-1", Long.parseUnsignedLong("17446744073709551615"));
    String key = PitrKeys.chunk(cluster, seg, Lsn.parse("0/3000100"), Lsn.parse("0/3000F00"));

    assertThat(key).isEqualTo("addon-1/pitr/system/17446744073709551615/wal/00000001/000000010000000000000003/"
        + "0000000003000100-0000000003000F00.zst.tink");
    assertThat(PitrKeys.chunk(ClusterWal.legacy("addon-1"), seg, Lsn.parse("0/3000100"), Lsn.parse("0/3000F00")))
        .as("archives written before keys named the cluster")
        .isEqualTo("addon-1/pitr/wal/00000001/000000010000000000000003/0000000003000100-0000000003000F00.zst.tink");
    assertThat(PitrKeys.history(cluster, 2)).isEqualTo("addon-1/pitr/system/17446744073709551615/history/00000002.history.tink");
    assertThat(PitrKeys.chunkRange(key)).containsExactly(Lsn.parse("0/3000100"), Lsn.parse("0/3000F00"));
    assertThat(PitrKeys.chunkRange(PitrKeys.segment(cluster, seg))).isNull();
    assertThatThrownBy(() -> PitrKeys.chunk(cluster, seg, Lsn.parse("0/3000100"), Lsn.parse("0/4000100")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PitrKeys.segment(new ClusterWal("../x", 1), seg)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void a_history_file_gives_each_ancestors_switch_point() {
    byte[] content = "1\t0/40001C0\tno recovery target specified\n\n2\t0/6000000\tno recovery target specified\n"
        .getBytes(StandardCharsets.UTF_8);
    TimelineHistory history = TimelineHistory.parse(3, content);

    assertThat(history.switchPoint(1)).isEqualTo(Lsn.parse("0/40001C0"));
    assertThat(history.switchPoint(2)).isEqualTo(Lsn.parse("0/6000000"));
    assertThat(history.timelineOf(Lsn.parse("0/4000000"))).isEqualTo(1);
    assertThat(history.timelineOf(Lsn.parse("0/5000000"))).isEqualTo(2);
    assertThat(history.timelineOf(Lsn.parse("0/7000000"))).isEqualTo(3);
  }
}
