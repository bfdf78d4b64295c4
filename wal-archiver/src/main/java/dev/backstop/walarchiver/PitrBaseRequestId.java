package dev.backstop.walarchiver;

import dev.backstop.pitr.Lsn;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The id of a base backup requested at once by the archiver, derived like the scheduler's ids (24 hex, no
 * {@code /}: ids are path segments in keys and URLs) from the addon, the cause and where the archive's
 * coverage starts, and the cluster: a replayed or repeated request for the same restart of the archive is the
 * same backup, and a re-initialised cluster whose WAL restarts at the same position as the old one's did asks
 * for a backup of its own.
 */
final class PitrBaseRequestId {

  private PitrBaseRequestId() {}

  static String of(String addonId, String cause, Lsn coverageStart, long systemId) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest((addonId + '|' + cause + '|' + coverageStart.hex16()
          + "|PITR_BASE|" + Long.toUnsignedString(systemId)).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
