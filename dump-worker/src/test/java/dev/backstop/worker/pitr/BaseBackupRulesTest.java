package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.addon.Addon;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.Events;
import org.junit.jupiter.api.Test;

/** Which addons get no base backup at all, and which pg_basebackup failures are worth another attempt. */
class BaseBackupRulesTest {

  private static Addon addon(Engine engine, Plan plan) {
    var spec = Events.addon("a", "app", plan, 1, "UTC");
    spec.setEngine(engine);
    return Addon.of(spec, 1);
  }

  @Test
  void mysql_and_sandbox_addons_are_refused_with_the_reason_and_paid_postgresql_ones_are_not() {
    assertThat(BaseBackupJob.refusal(addon(Engine.MYSQL, Plan.BUSINESS)))
        .isEqualTo("point-in-time recovery is offered for PostgreSQL only; mysql databases have no base backups");
    assertThat(BaseBackupJob.refusal(addon(Engine.POSTGRESQL, Plan.SANDBOX))).isEqualTo("Sandbox plans have no point-in-time recovery");
    assertThat(BaseBackupJob.refusal(addon(Engine.POSTGRESQL, Plan.STARTER))).isNull();
    assertThat(BaseBackupJob.refusal(addon(Engine.POSTGRESQL, Plan.BUSINESS))).isNull();
  }

  @Test
  void a_promoted_standby_busy_walsenders_or_a_refused_connection_pass_and_a_missing_replication_right_does_not() {
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): could not get COPY data stream: ERROR: the standby was promoted during online backup")).isTrue();
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): FATAL: number of requested standby connections exceeds max_wal_senders (currently 10)")).isTrue();
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): connection to server at \"127.0.0.1\", port 1 failed: Connection refused")).isTrue();
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): FATAL: must be superuser or replication role to start walsender")).isFalse();
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): FATAL: password authentication failed for user \"shop\"")).isFalse();
    assertThat(BaseBackupJob.FAILURES.isTransient(
        "pg_basebackup failed (exit 1): FATAL: no pg_hba.conf entry for replication connection from host \"10.0.0.9\"")).isFalse();
  }
}
