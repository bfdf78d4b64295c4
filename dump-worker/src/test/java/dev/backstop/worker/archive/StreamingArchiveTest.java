package dev.backstop.worker.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdInputStream;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.archive.HeadLastFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class StreamingArchiveTest {

  private static final Instant STARTED = Instant.parse("2023-12-07T00:06:08Z");

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(ArchiveFormat.class)
  void stock_tar_extracts_the_dump_whole_and_the_size_and_sha256_are_the_archives(ArchiveFormat format) throws Exception {
    byte[] dump = dumpLike(3_000_000);
    StreamingArchive.Packed packed = pack(format, "my_app_4553.pgsql", dump);

    byte[] archive = Files.readAllBytes(packed.file());
    assertThat(packed.size()).isEqualTo(archive.length);
    assertThat(packed.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive)));
    assertThat(packed.dumpSize()).isEqualTo(dump.length);
    assertThat(archive.length).as("compressed").isLessThan(dump.length / 2);

    Path out = Files.createDirectory(dir.resolve("out"));
    run(List.of("tar", "-xf", packed.file().toString(), "-C", out.toString()));
    assertThat(Files.readAllBytes(out.resolve("my_app_4553.pgsql"))).isEqualTo(dump);
    assertThat(run(List.of("tar", "-tvf", packed.file().toString()))).contains("2023-12-07 00:06");
  }

  @Test
  void StreamingArchive_names_follow_the_reference_with_the_formats_extension() {
    assertThat(StreamingArchive.archiveName(STARTED, "my_app_4553", ArchiveFormat.GZIP)).isEqualTo("20231207000608_my_app_4553.tar.gz");
    assertThat(StreamingArchive.archiveName(STARTED, "my_app_4553", ArchiveFormat.ZSTD)).isEqualTo("20231207000608_my_app_4553.tar.zst");
  }

  @ParameterizedTest
  @EnumSource(ArchiveFormat.class)
  void a_name_longer_than_ustar_allows_and_an_empty_dump_read_back_in_java(ArchiveFormat format) throws Exception {
    String longName = "d".repeat(120) + ".sql";
    StreamingArchive.Packed packed = pack(format, longName, new byte[0]);

    try (InputStream raw = Files.newInputStream(packed.file());
        InputStream plain = format == ArchiveFormat.ZSTD ? new ZstdInputStream(raw) : new GZIPInputStream(raw);
        TarArchiveInputStream tar = new TarArchiveInputStream(plain)) {
      TarArchiveEntry entry = tar.getNextEntry();
      assertThat(entry.getName()).isEqualTo(longName);
      assertThat(entry.getSize()).isZero();
      assertThat(tar.getNextEntry()).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(ArchiveFormat.class)
  void an_encrypted_archive_decrypts_to_the_archive_its_size_and_sha256_describe(ArchiveFormat format) throws Exception {
    byte[] dump = dumpLike(5_000_000);
    FilesystemArchiveStore store = new FilesystemArchiveStore(dir.resolve("store"));
    ArchiveCipher cipher = new ArchiveCipher(store, new byte[32]);
    String key = "addon-1/backup-1/" + StreamingArchive.archiveName(STARTED, "my_app_4553", format) + ArchiveCipher.SUFFIX;
    StreamingArchive.Packed packed;
    try (StreamingArchive archive = StreamingArchive.start(format, format.defaultLevel(), 2, "my_app_4553.pgsql", STARTED,
        dir.resolve("archive"), (file, head) -> cipher.headLast("addon-1", key, file, head))) {
      write(archive, dump);
      packed = archive.finish();
    }
    store.putTaking(key, packed.file());

    Path plain = dir.resolve("plain" + format.extension());
    try (InputStream in = cipher.open("addon-1", key, 0)) {
      Files.copy(in, plain);
    }
    assertThat(Files.size(plain)).isEqualTo(packed.size());
    assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(plain))))
        .isEqualTo(packed.sha256());
    Path out = Files.createDirectory(dir.resolve("out"));
    run(List.of("tar", "-xf", plain.toString(), "-C", out.toString()));
    assertThat(Files.readAllBytes(out.resolve("my_app_4553.pgsql"))).isEqualTo(dump);
  }

  @Test
  void the_tar_header_has_one_length_for_any_size_and_stock_tar_reads_a_size_past_8_gib() throws Exception {
    long nineGib = 9L << 30;
    byte[] small = StreamingArchive.tarHeader("my_app_4553.pgsql", 0, STARTED);
    byte[] large = StreamingArchive.tarHeader("my_app_4553.pgsql", nineGib, STARTED);
    assertThat(large).hasSameSizeAs(small).hasSize(512);
    assertThat(StreamingArchive.tarHeader("d".repeat(120), nineGib, STARTED))
        .hasSameSizeAs(StreamingArchive.tarHeader("d".repeat(120), 0, STARTED));

    // the header alone: tar lists the entry, then finds its data missing
    Path truncated = Files.write(dir.resolve("truncated.tar"), large);
    Process process = new ProcessBuilder("tar", "-tvf", truncated.toString()).redirectErrorStream(true).start();
    String listing = new String(process.getInputStream().readAllBytes());
    process.waitFor();
    assertThat(listing).contains(Long.toString(nineGib)).contains("my_app_4553.pgsql");
  }

  @Test
  void a_stored_zstd_frame_larger_than_a_block_reads_back_through_zstd() throws Exception {
    byte[] data = dumpLike(300_000);
    byte[] frame = ArchiveFormat.ZSTD.storedFrame(data);
    assertThat(frame).hasSize(data.length + 4 + 1 + 4 + 3 * 3);
    try (InputStream in = ArchiveFormat.ZSTD.decompressing(new java.io.ByteArrayInputStream(frame))) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
    Path file = Files.write(dir.resolve("stored.zst"), frame);
    run(List.of("zstd", "-q", "-t", file.toString()));
  }

  @Test
  void an_aborted_archive_refuses_further_dump_bytes_and_leaves_no_scratch_file() throws Exception {
    try (StreamingArchive archive = StreamingArchive.start(ArchiveFormat.ZSTD, 1, 2, "db.pgsql", STARTED, dir.resolve("archive"),
        HeadLastFile::plain)) {
      archive.dump().write(new byte[10]);
      archive.abort("the job was taken over by another worker");
      assertThatThrownBy(() -> archive.dump().write(new byte[10])).hasMessage("the job was taken over by another worker");
    }
    try (var files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void a_compressor_that_cannot_start_leaves_no_scratch_file() throws Exception {
    // Deflater refuses level 42 after the gzip member's header has reached the file
    assertThatThrownBy(() -> StreamingArchive.start(ArchiveFormat.GZIP, 42, 1, "db.pgsql", STARTED, dir.resolve("archive"),
        HeadLastFile::plain)).isInstanceOf(IllegalArgumentException.class);
    try (var files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
  }

  private StreamingArchive.Packed pack(ArchiveFormat format, String entry, byte[] dump) throws IOException {
    try (StreamingArchive archive = StreamingArchive.start(format, format.defaultLevel(), 2, entry, STARTED,
        dir.resolve("archive" + format.extension()), HeadLastFile::plain)) {
      write(archive, dump);
      return archive.finish();
    }
  }

  private static void write(StreamingArchive archive, byte[] dump) throws IOException {
    // in pieces, as a dump tool's pipe delivers it
    for (int off = 0; off < dump.length; off += 65_536) {
      archive.dump().write(dump, off, Math.min(65_536, dump.length - off));
    }
    assertThat(archive.dumpedBytes()).isEqualTo(dump.length);
  }

  /** Text-like bytes: compressible, not trivially. */
  private static byte[] dumpLike(int size) {
    Random random = new Random(42);
    String[] words = {"INSERT", "paid", "shipped", "2023-12-07", "Ada", "Grace", "{\"qty\": 3}", "\n"};
    StringBuilder text = new StringBuilder(size + 64);
    while (text.length() < size) {
      text.append(words[random.nextInt(words.length)]).append(' ').append(Long.toHexString(random.nextLong())).append('\t');
    }
    return text.substring(0, size).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor()).as("%s: %s", command, output).isZero();
    return output;
  }
}
