package dev.backstop.notifier.events;

import dev.backstop.kit.webhook.WebhookEventTypes;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.avro.specific.SpecificRecord;

/**
 * Which Backstop events customers hear of, and what they are told: the one mapping from events to
 * webhook messages. A body holds ids, times, counts and the reasons Backstop already shows customers
 * (which never hold a secret, and restore-test summaries leave out what could quote rows); never an
 * archive's location, a host, a user or a password.
 */
public final class Notifications {

  private final PitrWindows windows;
  private final Function<String, Optional<String>> appOfAddon;

  /**
   * @param windows each addon's window state, to tell breaks and recoveries from other changes
   * @param appOfAddon the app an addon belongs to (PITR events name only the addon)
   */
  public Notifications(PitrWindows windows, Function<String, Optional<String>> appOfAddon) {
    this.windows = windows;
    this.appOfAddon = appOfAddon;
  }

  /** The message {@code event} makes, if customers hear of it. */
  public Optional<Notification> of(SpecificRecord event) {
    return switch (event) {
      case BackupFailed e when customerVisible(e.getKind()) -> Optional.of(message(WebhookEventTypes.BACKUP_FAILED,
          e.getBackupId(), e.getAppName(), e.getFailedAt(), data(e.getAppName(), e.getAddonId(), Map.of(
              "backupId", e.getBackupId(), "kind", lower(e.getKind().name()), "requestedAt", e.getRequestedAt(),
              "failedAt", e.getFailedAt(), "reason", e.getReason()))));
      case BackupCompleted e when customerVisible(e.getKind()) -> Optional.of(message(WebhookEventTypes.BACKUP_COMPLETED,
          e.getBackupId(), e.getAppName(), e.getCompletedAt(), data(e.getAppName(), e.getAddonId(), Map.of(
              "backupId", e.getBackupId(), "kind", lower(e.getKind().name()), "startedAt", e.getStartedAt(),
              "completedAt", e.getCompletedAt(), "sizeBytes", e.getSizeBytes(), "sha256", e.getSha256()))));
      case BackupVerified e when !e.getPassed() -> Optional.of(message(WebhookEventTypes.RESTORE_TEST_FAILED,
          e.getBackupId() + "@" + e.getVerifiedAt().toEpochMilli(), e.getAppName(), e.getVerifiedAt(),
          data(e.getAppName(), e.getAddonId(), Map.of("backupId", e.getBackupId(), "verifiedAt", e.getVerifiedAt(),
              "reason", e.getSummary()))));
      case BackupMissed e -> {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("localDate", e.getLocalDate());
        fields.put("scheduledAt", e.getScheduledAt());
        fields.put("finding", lower(e.getFinding().name()));
        fields.put("backupId", e.getBackupId());
        fields.put("reason", e.getDetail());
        yield Optional.of(message(WebhookEventTypes.BACKUP_MISSED, e.getMissedId(), e.getAppName(), e.getDetectedAt(),
            data(e.getAppName(), e.getAddonId(), fields)));
      }
      case PitrWindowChanged e -> pitr(e);
      default -> Optional.empty();
    };
  }

  private Optional<Notification> pitr(PitrWindowChanged e) {
    boolean broken = e.getState() == PitrState.BROKEN;
    boolean streaming = e.getState() == PitrState.STREAMING;
    if (!broken && !streaming) {
      // starting, unavailable: neither a break nor a recovery; the state before them still counts
      return Optional.empty();
    }
    PitrWindows.Before before = windows.advance(e.getAddonId(), e.getAt(), broken);
    if (before.stale() || broken == before.broken()) {
      return Optional.empty();
    }
    Optional<String> app = appOfAddon.apply(e.getAddonId());
    if (app.isEmpty()) {
      return Optional.empty();
    }
    String type = broken ? WebhookEventTypes.PITR_WINDOW_BROKEN : WebhookEventTypes.PITR_WINDOW_RESTORED;
    Map<String, Object> fields = new LinkedHashMap<>();
    if (broken) {
      fields.put("brokenSince", e.getBrokenSince() != null ? e.getBrokenSince() : e.getAt());
      fields.put("reason", e.getReason());
    } else {
      fields.put("earliest", e.getEarliest());
      fields.put("latest", e.getLatest());
    }
    return Optional.of(message(type, e.getAddonId() + "@" + e.getAt().toEpochMilli(), app.get(), e.getAt(),
        data(app.get(), e.getAddonId(), fields)));
  }

  /** Point-in-time bases are Backstop's own working copies, not backups customers see in their listing. */
  private static boolean customerVisible(BackupKind kind) {
    return kind != BackupKind.PITR_BASE;
  }

  private static Map<String, Object> data(String app, String addon, Map<String, ?> more) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("app", app);
    data.put("addon", addon);
    // a stable order, so that the same event always makes the same bytes
    new java.util.TreeMap<>(more).forEach(data::put);
    return data;
  }

  private static Notification message(String type, String key, String app, Instant at, Map<String, Object> data) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", type);
    body.put("timestamp", at);
    body.put("data", data);
    return new Notification(messageId(type, key), app, type, at, Json.write(body));
  }

  /** {@code msg_} and 128 bits of SHA-256 over the type and the event's own key: the same event, the same id. */
  static String messageId(String type, String key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest((type + "\n" + key).getBytes(StandardCharsets.UTF_8));
      return "msg_" + java.util.HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String lower(String name) {
    return name.toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
