package dev.backstop.worker.pitr;

import com.github.luben.zstd.ZstdOutputStream;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.PitrKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * A base backup stored the way {@code BaseBackupJob} stores one (docs/pitr-design.md §5): the tar stream of
 * {@code pg_basebackup -Ft -X none -c fast -D -} (holding {@code backup_label} and {@code backup_manifest}),
 * zstd level 1, encrypted with the addon's key at {@link PitrKeys#base}; its WAL range read from the manifest.
 */
final class PitrBaseFixture {

  record Base(String backupId, Instant endTime, int timeline, Lsn startLsn, Lsn stopLsn) {}

  private static final Pattern RANGE = Pattern.compile(
      "\"Timeline\":\\s*(\\d+),\\s*\"Start-LSN\":\\s*\"([0-9A-F/]+)\",\\s*\"End-LSN\":\\s*\"([0-9A-F/]+)\"");

  private PitrBaseFixture() {}

  static Base take(int port, String addonId, String backupId, ArchiveStore store, ArchiveCipher cipher, Path scratch)
      throws IOException, InterruptedException {
    Path tar = scratch.resolve(backupId + ".tar");
    Process basebackup = new ProcessBuilder(List.of("pg_basebackup", "-h", "127.0.0.1", "-p", Integer.toString(port),
        "-U", "postgres", "-Ft", "-X", "none", "-c", "fast", "-D", "-", "--label", "backstop-" + backupId))
        .redirectOutput(tar.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    if (basebackup.waitFor() != 0) {
      throw new IOException("pg_basebackup failed");
    }
    // events carry milliseconds; rounded up, the end stays at or after pg_basebackup's true stop
    Instant endTime = Instant.now().plusMillis(1).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    String manifest = null;
    try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
      TarArchiveEntry entry;
      while ((entry = in.getNextEntry()) != null) {
        if (entry.getName().equals("backup_manifest")) {
          manifest = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
      }
    }
    if (manifest == null) {
      throw new IOException("no backup_manifest in the base's tar");
    }
    Matcher m = RANGE.matcher(manifest);
    if (!m.find()) {
      throw new IOException("no WAL-Ranges in the manifest");
    }
    String key = PitrKeys.base(addonId, backupId);
    Path stored = scratch.resolve(backupId + ".tar.zst.tink");
    try (OutputStream out = new ZstdOutputStream(cipher.encrypting(addonId, key, Files.newOutputStream(stored)), 1);
         InputStream in = Files.newInputStream(tar)) {
      in.transferTo(out);
    }
    store.put(key, stored);
    Files.delete(stored);
    Files.delete(tar);
    return new Base(backupId, endTime, Integer.parseInt(m.group(1)), Lsn.parse(m.group(2)), Lsn.parse(m.group(3)));
  }
}
