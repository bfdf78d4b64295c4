package dev.backstop.retention.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoDatabase;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.junit.jupiter.api.extension.RegisterExtension;

class RetentionLedgerTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();
  private MongoDatabase database;
  private RetentionProperties properties = properties(Map.of());

  /** The properties a service started with {@code settings} binds (the defaults for the rest). */
  private static RetentionProperties properties(Map<String, String> settings) {
    return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate("backstop.retention", RetentionProperties.class);
  }
  private final Instant t0 = Instant.parse("2026-11-01T01:00:00Z");

  @BeforeEach
  void emptyStore() {
    database = mongo.fresh("ledger");
  }

  @Test
  void an_event_is_acknowledged_only_once_a_flush_has_stored_it() {
    var ledger = new RetentionLedger(database, properties);
    AtomicInteger acknowledged = new AtomicInteger();
    ledger.recordOutcome("b1", "a", "app", BackupKind.SCHEDULED, true, t0, "a/b1/x.tar.gz");
    ledger.afterNextFlush(acknowledged::incrementAndGet);

    assertThat(acknowledged).hasValue(0);
    assertThat(new RetentionLedger(database, properties).liveBackups("a")).as("nothing stored before the flush").isEmpty();

    ledger.flush();
    assertThat(acknowledged).hasValue(1);
    assertThat(new RetentionLedger(database, properties).liveBackups("a")).as("what another instance reads after it")
        .singleElement().satisfies(r -> {
          assertThat(r.backup().backupId()).isEqualTo("b1");
          assertThat(r.archiveKey()).isEqualTo("a/b1/x.tar.gz");
          assertThat(r.backup().takenAt()).isEqualTo(t0);
        });
    ledger.flush();
    assertThat(acknowledged).as("an acknowledgement runs once").hasValue(1);
  }

  @Test
  void a_base_backups_end_time_is_stored_and_read_back_by_another_instance_for_the_pitr_window() {
    var ledger = new RetentionLedger(database, properties);
    Instant ended = t0.plusSeconds(600);
    ledger.recordOutcome("base-1", "a", "app", BackupKind.PITR_BASE, true, t0, "a/pitr/base/base-1/base.tar.zst.tink", ended);
    ledger.flush();

    assertThat(new RetentionLedger(database, properties).liveBackups("a")).singleElement().satisfies(r -> {
      assertThat(r.backup().kind()).isEqualTo(BackupKind.PITR_BASE);
      assertThat(r.backup().pitrEndTime()).isEqualTo(ended);
      assertThat(r.archiveKey()).isEqualTo("a/pitr/base/base-1/base.tar.zst.tink");
    });
  }

  @Test
  void a_replayed_completion_never_revives_a_pruned_backup_and_a_repeated_prune_keeps_the_first_times() {
    var ledger = new RetentionLedger(database, properties);
    ledger.recordOutcome("b1", "a", "app", BackupKind.MANUAL, true, t0, "a/b1/x.tar.gz");
    ledger.markPruned("b1", "a", "manual: 11th newest", t0.plus(Duration.ofDays(3)), t0.plus(Duration.ofDays(3)).plusSeconds(3600));
    ledger.flush();

    var reloaded = new RetentionLedger(database, properties);
    reloaded.recordOutcome("b1", "a", "app", BackupKind.MANUAL, true, t0, "a/b1/x.tar.gz");
    reloaded.markPruned("b1", "a", "another reason", t0.plus(Duration.ofDays(4)), t0.plus(Duration.ofDays(4)).plusSeconds(3600));

    assertThat(reloaded.liveBackups("a")).isEmpty();
    assertThat(reloaded.duePurges("a", t0.plus(Duration.ofDays(3)).plusSeconds(3599))).isEmpty();
    assertThat(reloaded.duePurges("a", t0.plus(Duration.ofDays(3)).plusSeconds(3600))).singleElement()
        .satisfies(p -> assertThat(p.archiveKey()).isEqualTo("a/b1/x.tar.gz"));
    reloaded.markPurged("a", "b1", t0.plus(Duration.ofDays(5)));
    assertThat(reloaded.duePurges("a", t0.plus(Duration.ofDays(6)))).isEmpty();
  }

  @Test
  void applying_the_same_events_again_leaves_nothing_to_write() {
    var ledger = new RetentionLedger(database, properties);
    ledger.recordOutcome("b1", "a", "app", BackupKind.SCHEDULED, false, t0, null);
    ledger.flush();
    ledger.recordOutcome("b1", "a", "app", BackupKind.SCHEDULED, false, t0, null);

    assertThat(ledger.flushDue(false)).as("a repeat changes nothing, so nothing waits").isFalse();
    assertThat(ledger.addonIds()).containsExactly("a");
  }

  @Test
  void while_catching_up_writes_wait_for_the_evaluations_unless_too_many_changes_pile_up() throws Exception {
    properties = properties(Map.of("backstop.retention.flush-interval", "0s", "backstop.retention.flush-changes", "3"));
    var ledger = new RetentionLedger(database, properties);
    ledger.recordOutcome("b1", "a", "app", BackupKind.SCHEDULED, true, t0, "k1");
    ledger.afterNextFlush(() -> { });
    Thread.sleep(250);
    assertThat(ledger.flushDue(true)).isFalse();
    assertThat(ledger.flushDue(false)).isTrue();

    ledger.recordOutcome("b2", "a", "app", BackupKind.SCHEDULED, true, t0.plusSeconds(86_400), "k2");
    ledger.recordOutcome("b3", "a", "app", BackupKind.SCHEDULED, true, t0.plusSeconds(2 * 86_400), "k3");
    assertThat(ledger.flushDue(true)).isTrue();
  }

  @Test
  void pruned_backups_still_count_and_a_scheduled_backup_carries_the_date_it_was_scheduled_for() {
    var ledger = new RetentionLedger(database, properties);
    // the scheduler's id of pg-nightly's scheduled backup for 2026-03-17, run late on the 18th
    String scheduled = "747e599e9dcd40be8cc1f126";
    ledger.recordOutcome(scheduled, "pg-nightly", "app", BackupKind.SCHEDULED, true, Instant.parse("2026-03-18T00:20:00Z"), "k1");
    ledger.recordOutcome("manual-1", "pg-nightly", "app", BackupKind.MANUAL, true, t0, "k2");
    ledger.markPruned("manual-1", "pg-nightly", "manual: beyond the last 10 kept by the starter plan", t0, t0);

    assertThat(ledger.liveBackups("pg-nightly")).singleElement()
        .satisfies(r -> assertThat(r.backup().scheduledFor()).isEqualTo(java.time.LocalDate.parse("2026-03-17")));
    assertThat(ledger.prunedBackups("pg-nightly")).singleElement()
        .satisfies(b -> assertThat(b.backupId()).isEqualTo("manual-1"));
  }
}
