package dev.backstop.retention.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetentionPolicyTest {

  private static final Instant T0 = Instant.parse("2026-11-01T10:00:00Z");

  private static List<StoredBackup> manualBackups(int count) {
    List<StoredBackup> backups = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      backups.add(new StoredBackup("m" + i, BackupKind.MANUAL, true, T0.plusSeconds(60L * i)));
    }
    return backups;
  }

  @Test
  void starter_keeps_the_last_10_manual_backups_and_prunes_the_11th_oldest() {
    var decision = RetentionPolicy.evaluate(Plan.STARTER, manualBackups(11));

    assertThat(decision.pruned()).extracting(p -> p.backup().backupId()).containsExactly("m0");
    assertThat(decision.pruned().get(0).reason()).isEqualTo("manual: beyond the last 10 kept by the starter plan");
    assertThat(decision.kept()).hasSize(10).containsKeys("m1", "m10");
    assertThat(decision.kept().get("m10")).contains("newest successful backup", "manual: 1st newest of the last 10 kept by the starter plan");
  }

  @Test
  void business_keeps_the_last_50_manual_backups() {
    var decision = RetentionPolicy.evaluate(Plan.BUSINESS, manualBackups(60));
    assertThat(decision.kept()).hasSize(50);
    assertThat(decision.pruned()).extracting(p -> p.backup().backupId())
        .containsExactly("m9", "m8", "m7", "m6", "m5", "m4", "m3", "m2", "m1", "m0");
  }

  @Test
  void sandbox_downgrade_keeps_only_the_newest_successful_backup() {
    var decision = RetentionPolicy.evaluate(Plan.SANDBOX, manualBackups(3));
    assertThat(decision.kept()).containsOnlyKeys("m2");
    assertThat(decision.pruned()).allMatch(p -> p.reason().equals("manual: the sandbox plan keeps no manual backups"));
  }

  @Test
  void failed_manual_backups_do_not_count_towards_the_last_10() {
    List<StoredBackup> backups = manualBackups(10);
    backups.add(new StoredBackup("failed", BackupKind.MANUAL, false, T0.plusSeconds(100_000)));
    var decision = RetentionPolicy.evaluate(Plan.STARTER, backups);
    assertThat(decision.pruned()).isEmpty();
    assertThat(decision.kept().get("failed")).containsExactly("failed: record kept");
  }

  @Test
  void scheduled_backups_are_not_touched_by_the_manual_rule() {
    List<StoredBackup> backups = manualBackups(10);
    backups.add(new StoredBackup("s", BackupKind.SCHEDULED, true, T0.minusSeconds(86_400)));
    assertThat(RetentionPolicy.evaluate(Plan.STARTER, backups).pruned()).isEmpty();
  }

  @Test
  void the_outcome_does_not_depend_on_the_order_backups_are_given_in() {
    List<StoredBackup> backups = manualBackups(25);
    var sorted = RetentionPolicy.evaluate(Plan.STARTER, backups);
    Collections.shuffle(backups, new java.util.Random(7));
    var shuffled = RetentionPolicy.evaluate(Plan.STARTER, backups);
    assertThat(shuffled.pruned()).isEqualTo(sorted.pruned());
    assertThat(shuffled.kept().keySet()).containsExactlyInAnyOrderElementsOf(sorted.kept().keySet());
  }
}
