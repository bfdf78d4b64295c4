package dev.backstop.walarchiver;

import dev.backstop.pitr.Lsn;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The id of a base backup requested at once by the archiver, derived like the scheduler's ids (24 hex, no
 * {@code /}: ids are path segments in keys and URLs) from the addon, the cause and where the archive's
 * coverage starts: a replayed or repeated request for the same restart of the archive is the same backup.
 */
final class PitrBaseRequestId {

  private PitrBaseRequestId() {}

  static String of(String addonId, String cause, Lsn coverageStart) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest((addonId + '|' + cause + '|' + coverageStart.hex16() + "|PITR_BASE").getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
