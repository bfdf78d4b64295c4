package dev.backstop.walarchiver;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;

/**
 * One WAL stream in a JVM of its own, for tests that kill it with SIGKILL:
 * {@code StreamProcess <store-dir> <key-file> <scratch-dir> <addon-id> <host> <port>}.
 */
public final class StreamProcess {

  public static void main(String[] args) throws Exception {
    byte[] master = Base64.getDecoder().decode(Files.readString(Path.of(args[1])).strip());
    FilesystemArchiveStore archive = new FilesystemArchiveStore(Path.of(args[0]));
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(archive, new ArchiveCipher(archive, master), Path.of(args[2]));
    StreamTarget target = new StreamTarget(args[3], args[4], Integer.parseInt(args[5]), "postgres", null, "test: a child JVM");
    new WalStream(target, wal, Clock.systemUTC(), Duration.ofMillis(200), new WalStream.Listener() {}).run();
  }

  private StreamProcess() {}
}
