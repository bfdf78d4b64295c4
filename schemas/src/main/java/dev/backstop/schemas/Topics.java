package dev.backstop.schemas;

import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Backstop's topics. Every message is keyed by addon id, so one addon's events stay in order.
 *
 * <p>The addons, requests and backup events are the record of what happened: they keep their whole
 * history (no time-based deletion, no compaction), so that replaying them from offset 0 rebuilds
 * every service's state. Progress is not part of the record: it is worth something only while a
 * dump runs, and keeps a day.
 */
public final class Topics {

  /** AddonRegistered, AddonChanged, AddonRemoved. */
  public static final String ADDONS = "backstop.addons";

  /** BackupRequested, from the scheduler (daily) and the gateway (manual). */
  public static final String BACKUP_REQUESTS = "backstop.backup-requests";

  /**
   * BackupStarted, BackupCompleted, BackupFailed, BackupVerified (dump-worker), BackupPruned (retention)
   * and BackupMissed (scheduler's watchdog).
   */
  public static final String BACKUP_EVENTS = "backstop.backup-events";

  /** BackupProgress of running dumps (dump-worker); kept a day, never replayed into state. */
  public static final String BACKUP_PROGRESS = "backstop.backup-progress";

  /**
   * PitrWindowChanged, WalTimelineSwitched, WalGapDetected (wal-archiver): the record of each addon's
   * recoverable window, so it keeps its whole history like the backup events.
   */
  public static final String PITR_EVENTS = "backstop.pitr-events";

  /** WalArchived, every few seconds per streaming addon (wal-archiver); kept a day, like backup progress. */
  public static final String PITR_PROGRESS = "backstop.pitr-progress";

  /**
   * WebhookEndpointRegistered, WebhookEndpointRemoved (api-gateway) and WebhookEndpointDisabled (notifier),
   * keyed by app name: the record of every app's endpoints, kept forever like the addons.
   */
  public static final String WEBHOOKS = "backstop.webhooks";

  /**
   * WebhookDeliveryAttempted (notifier), keyed by endpoint id: the delivery log the gateway shows; kept a
   * week, so a gateway rebuilding from it shows the last week.
   */
  public static final String WEBHOOK_DELIVERIES = "backstop.webhook-deliveries";

  private static final Map<String, String> KEEP_A_DAY =
      Map.of("retention.ms", Long.toString(24L * 3600 * 1000), "cleanup.policy", "delete");

  private static final Map<String, String> KEEP_A_WEEK =
      Map.of("retention.ms", Long.toString(7L * 24 * 3600 * 1000), "cleanup.policy", "delete");

  private static final Map<String, String> KEEP_FOREVER =
      Map.of("retention.ms", "-1", "retention.bytes", "-1", "cleanup.policy", "delete");

  private Topics() {}

  /** The topic definitions every service declares at start-up; creating an existing topic is a no-op. */
  public static List<NewTopic> definitions(int partitions, short replicationFactor) {
    return List.of(
        new NewTopic(ADDONS, partitions, replicationFactor).configs(KEEP_FOREVER),
        new NewTopic(BACKUP_REQUESTS, partitions, replicationFactor).configs(KEEP_FOREVER),
        new NewTopic(BACKUP_EVENTS, partitions, replicationFactor).configs(KEEP_FOREVER),
        new NewTopic(BACKUP_PROGRESS, partitions, replicationFactor).configs(KEEP_A_DAY),
        new NewTopic(PITR_EVENTS, partitions, replicationFactor).configs(KEEP_FOREVER),
        new NewTopic(PITR_PROGRESS, partitions, replicationFactor).configs(KEEP_A_DAY),
        new NewTopic(WEBHOOKS, partitions, replicationFactor).configs(KEEP_FOREVER),
        new NewTopic(WEBHOOK_DELIVERIES, partitions, replicationFactor).configs(KEEP_A_WEEK));
  }
}
