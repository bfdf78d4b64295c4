package dev.backstop.scheduler.schedule;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.util.HexFormat;

/**
 * The id of a scheduled backup, derived from (addon, local date, kind): a replay of the scheduler's
 * inputs, a retry or a second scheduler instance produce the same id, and consumers drop the repeat.
 * 24 hex digits, the shape of every backup id customers see.
 */
public final class ScheduledBackupId {

  private ScheduledBackupId() {}

  public static String of(String addonId, LocalDate localDate, String kind) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest((addonId + '|' + localDate + '|' + kind).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
