package dev.backstop.worker.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchivePackerTest {

  @Test
  void archive_is_named_by_its_utc_start_time_and_database() {
    assertThat(ArchivePacker.archiveName(Instant.parse("2023-12-07T00:06:08Z"), "my_app_4553"))
        .isEqualTo("20231207000608_my_app_4553.tar.gz");
  }

  @Test
  void the_tar_gz_holds_the_dump_and_its_size_and_checksum_are_of_the_file_customers_get(@TempDir Path dir) throws Exception {
    Path dump = dir.resolve("dump");
    byte[] content = "PGDMP some dump bytes".repeat(1000).getBytes();
    Files.write(dump, content);

    var packed = ArchivePacker.pack(dump, "my_db.pgsql", Instant.parse("2026-11-21T01:00:00Z"), dir.resolve("a.tar.gz"));

    byte[] archive = Files.readAllBytes(packed.file());
    assertThat(packed.size()).isEqualTo(archive.length);
    assertThat(packed.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive)));
    try (InputStream in = Files.newInputStream(packed.file());
        TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(in))) {
      var entry = tar.getNextEntry();
      assertThat(entry.getName()).isEqualTo("my_db.pgsql");
      assertThat(tar.readAllBytes()).isEqualTo(content);
      assertThat(tar.getNextEntry()).isNull();
    }
  }
}
