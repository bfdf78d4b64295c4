package dev.backstop.pitr;

import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.Optional;

/**
 * {@code restore_command} for a hand restore from a filesystem archive store, through Backstop's reader:
 * {@code java -cp … dev.backstop.pitr.WalFetch <store-dir> <addon-id> <key-file> <segment-size> %f %p [<system-id>]}.
 * Only WAL of the cluster being restored is read: the one named by {@code system-id}, by default the one
 * in {@code global/pg_control} of the working directory (PostgreSQL runs {@code restore_command} in the
 * data directory, whose {@code pg_control} came with the base backup).
 * The master key is read from {@code key-file} (base64 of 32 bytes, as {@code BACKSTOP_SECRETS_KEY}) so it
 * never appears in the server's settings or in a process list. Exit 0 with the file written whole (renamed
 * into place), 1 when the archive has no such file (recovery then ends or tries the next timeline), 126 on
 * any other failure: PostgreSQL takes an exit status above 125 as a shell error and aborts recovery, where
 * any lower one would be read as "no such file" and end recovery early, before the WAL that exists.
 */
public final class WalFetch {

  public static void main(String[] args) {
    if (args.length != 6 && args.length != 7) {
      System.err.println("usage: WalFetch <store-dir> <addon-id> <key-file> <segment-size> %f %p [<system-id>]");
      System.exit(126);
    }
    try {
      long systemId = args.length == 7 ? Long.parseUnsignedLong(args[6]) : controlSystemId(Path.of("global/pg_control"));
      ClusterWal cluster = new ClusterWal(args[1], systemId);
      System.exit(fetch(Path.of(args[0]), cluster, Path.of(args[2]), Long.parseLong(args[3]), args[4], Path.of(args[5])));
    } catch (Exception e) {
      System.err.println("WalFetch " + args[4] + ": " + e);
      System.exit(126);
    }
  }

  /** {@code pg_control} begins with the cluster's system identifier (a uint64 in the server's byte order, little-endian here). */
  static long controlSystemId(Path pgControl) throws java.io.IOException {
    byte[] head = new byte[8];
    try (var in = Files.newInputStream(pgControl)) {
      if (in.readNBytes(head, 0, 8) != 8) {
        throw new java.io.IOException(pgControl.toAbsolutePath() + " is too short to be pg_control");
      }
    }
    return java.nio.ByteBuffer.wrap(head).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
  }

  static int fetch(Path storeDir, ClusterWal cluster, Path keyFile, long segmentSize, String fileName, Path target)
      throws Exception {
    byte[] master = Base64.getDecoder().decode(Files.readString(keyFile).strip());
    FilesystemArchiveStore store = new FilesystemArchiveStore(storeDir);
    // reads stage nothing; the directory only satisfies the store's constructor and goes at once
    Path scratch = Files.createTempDirectory("walfetch");
    Optional<byte[]> content;
    try {
      ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(store, new ArchiveCipher(store, master), scratch);
      int historyTli = WalSegmentName.historyTimeline(fileName);
      if (historyTli > 0) {
        content = wal.history(cluster, historyTli);
      } else if (WalSegmentName.isSegment(fileName)) {
        content = wal.fetchSegment(cluster, WalSegmentName.parse(fileName, segmentSize));
      } else {
        content = Optional.empty(); // .partial, .backup: not archived
      }
    } finally {
      Files.deleteIfExists(scratch);
    }
    if (content.isEmpty()) {
      return 1;
    }
    Path temp = target.resolveSibling("." + target.getFileName() + ".walfetch");
    Files.write(temp, content.get());
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return 0;
  }

  private WalFetch() {}
}
