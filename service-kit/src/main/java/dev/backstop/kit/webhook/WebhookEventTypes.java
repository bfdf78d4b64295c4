package dev.backstop.kit.webhook;

import java.util.List;

/**
 * The event names customers subscribe a webhook endpoint to, and that a delivery's {@code type} carries.
 * The gateway refuses any other name; the notifier maps Backstop's events onto these.
 */
public final class WebhookEventTypes {

  public static final String BACKUP_FAILED = "backup.failed";
  public static final String BACKUP_COMPLETED = "backup.completed";
  public static final String RESTORE_TEST_FAILED = "restore-test.failed";
  public static final String BACKUP_MISSED = "backup.missed";
  public static final String PITR_WINDOW_BROKEN = "pitr.window-broken";
  public static final String PITR_WINDOW_RESTORED = "pitr.window-restored";

  /** Every name, in the order the API documents them. */
  public static final List<String> ALL = List.of(BACKUP_FAILED, BACKUP_COMPLETED, RESTORE_TEST_FAILED, BACKUP_MISSED,
      PITR_WINDOW_BROKEN, PITR_WINDOW_RESTORED);

  private WebhookEventTypes() {}
}
