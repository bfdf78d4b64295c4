package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.pitr.Lsn;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

/** The tar of pg_basebackup read as it passes: label and manifest kept, every byte passed on. */
class ManifestTapTest {

  private static final String MANIFEST_END = """
      { "Path": "PG_VERSION", "Size": 3, "Last-Modified": "2026-12-01 10:00:00 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "1a2b3c4d" }
      ],
      "WAL-Ranges": [
      { "Timeline": 1, "Start-LSN": "0/4000028", "End-LSN": "0/4000100" }
      ],
      "Manifest-Checksum": "00ff"}
      """;

  @Test
  void the_label_and_the_manifests_wal_range_are_read_from_a_stream_written_in_odd_pieces() throws IOException {
    byte[] filler = new byte[200_000];
    new Random(7).nextBytes(filler);
    byte[] tar = tar("PG_VERSION", "15\n".getBytes(StandardCharsets.US_ASCII),
        "base/1/1259", filler,
        "backup_label", "START WAL LOCATION: 0/4000028 (file 000000010000000000000004)\nLABEL: backstop-b1\n".getBytes(StandardCharsets.UTF_8),
        "backup_manifest", ("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n" + "x".repeat(100_000) + MANIFEST_END)
            .getBytes(StandardCharsets.UTF_8));

    ByteArrayOutputStream passed = new ByteArrayOutputStream();
    ManifestTap tap = new ManifestTap(passed);
    Random pieces = new Random(3);
    for (int i = 0; i < tar.length; ) {
      int n = Math.min(tar.length - i, 1 + pieces.nextInt(1500));
      tap.write(tar, i, n);
      i += n;
    }

    assertThat(passed.toByteArray()).isEqualTo(tar);
    assertThat(tap.bytes()).isEqualTo(tar.length);
    assertThat(tap.backupLabel()).contains("LABEL: backstop-b1");
    assertThat(tap.manifestTail()).hasSizeLessThanOrEqualTo(ManifestTap.MANIFEST_TAIL).endsWith(MANIFEST_END);
    assertThat(BaseBackupManifest.parse(tap.manifestTail()))
        .isEqualTo(new BaseBackupManifest(1, Lsn.parse("0/4000028"), Lsn.parse("0/4000100")));
  }

  @Test
  void a_stream_without_a_manifest_says_so() throws IOException {
    ManifestTap tap = new ManifestTap(new ByteArrayOutputStream());
    tap.write(tar("PG_VERSION", "15\n".getBytes(StandardCharsets.US_ASCII)));
    assertThat(tap.manifestTail()).isNull();
    assertThat(tap.backupLabel()).isNull();
  }

  @Test
  void a_base_taken_across_a_timeline_switch_starts_at_the_first_range_and_ends_on_the_newest_timeline() {
    String tail = """
        "WAL-Ranges": [
        { "Timeline": 2, "Start-LSN": "0/5000000", "End-LSN": "0/5000200" },
        { "Timeline": 1, "Start-LSN": "0/4000028", "End-LSN": "0/5000000" }
        ],""";
    assertThat(BaseBackupManifest.parse(tail)).isEqualTo(new BaseBackupManifest(2, Lsn.parse("0/4000028"), Lsn.parse("0/5000200")));
  }

  @Test
  void a_manifest_without_wal_ranges_is_refused_with_the_reason() {
    assertThatThrownBy(() -> BaseBackupManifest.parse("{\"Files\": []}"))
        .hasMessage("the backup manifest has no WAL-Ranges");
    assertThatThrownBy(() -> BaseBackupManifest.parse("\"WAL-Ranges\": [ ],"))
        .hasMessage("the backup manifest's WAL-Ranges list no range");
  }

  private static byte[] tar(Object... namesAndContents) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
      for (int i = 0; i < namesAndContents.length; i += 2) {
        byte[] content = (byte[]) namesAndContents[i + 1];
        TarArchiveEntry entry = new TarArchiveEntry((String) namesAndContents[i]);
        entry.setSize(content.length);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
      }
    }
    return out.toByteArray();
  }
}
