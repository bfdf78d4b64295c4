package dev.backstop.gateway.backups;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.gateway.backups.BackupListing.Row;
import dev.backstop.gateway.backups.BackupListing.Stage;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class BackupListingTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();
  private BackupListing listing;
  private com.mongodb.client.MongoDatabase database;
  private final Instant t0 = Instant.parse("2026-11-20T01:00:00Z");

  @BeforeEach
  void emptyListing() {
    database = mongo.fresh("listing");
    listing = new BackupListing(database);
  }

  private static Stage of(String addonId, Instant createdAt) {
    return Stage.requested(addonId, "app", "MANUAL", createdAt);
  }

  private static Stage sized(Stage stage, long size) {
    return stage.completed(size, null, null, null, null);
  }

  @Test
  void listsAnAddonsBackupsNewestFirstAndNoOtherAddons() {
    listing.advance("b1", Status.PENDING, of("a", t0));
    listing.advance("b2", Status.PENDING, of("a", t0.plusSeconds(3600)));
    listing.advance("b1", Status.DONE, sized(of("a", t0), 10L));
    listing.advance("x1", Status.DONE, of("other", t0.plusSeconds(60)));

    assertThat(listing.ofAddon("a")).extracting(Row::id, Row::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("b2", Status.PENDING), org.assertj.core.groups.Tuple.tuple("b1", Status.DONE));
    assertThat(listing.ofAddon("nobody")).isEmpty();
    assertThat(listing.latestDone("a")).map(Row::id).contains("b1");
  }

  @Test
  void aPrunedBackupLeavesTheListingEvenWhenItsRequestIsReplayedAfterThePrune() {
    listing.advance("b1", Status.DONE, of("a", t0));
    listing.advance("b2", Status.DONE, of("a", t0.plusSeconds(60)));
    listing.advance("b1", Status.PRUNED, Stage.pruned("a", "app", "r"));
    // the requests topic is read independently of the events topic: its PENDING may come last
    listing.advance("b1", Status.PENDING, of("a", t0));
    listing.advance("b1", Status.DONE, of("a", t0));

    // the stored index, not only the listing read through it: a view rebuilt by a replay equals the live one
    assertThat(database.getCollection("backup_ids").find().first().getList("ids", String.class))
        .containsExactly("b2");
    assertThat(listing.ofAddon("a")).extracting(Row::id).containsExactly("b2");
    assertThat(listing.find("a", "b1")).isEmpty();
    assertThat(listing.ofAddon("a")).extracting(Row::id).containsExactly("b2");
  }

  @Test
  void aStatusNeverGoesBackAndARepeatChangesNothing() {
    listing.advance("b1", Status.PENDING, of("a", t0));
    listing.advance("b1", Status.FAILED, of("a", t0).failed("connection refused", null));
    listing.advance("b1", Status.RUNNING, of("a", t0));
    listing.advance("b1", Status.FAILED, of("a", t0).failed("connection refused", null));

    assertThat(listing.ofAddon("a")).singleElement().satisfies(row -> {
      assertThat(row.status()).isEqualTo(Status.FAILED);
      assertThat(row.reason()).isEqualTo("connection refused");
    });
    assertThat(listing.latestDone("a")).isEmpty();
  }

  @Test
  void aRestoreTestMarksADoneBackupAndSurvivesAReplayedCompletionButNotAPrune() {
    listing.advance("b1", Status.RUNNING, of("a", t0));
    var passed = new BackupListing.Verification(true, t0.plusSeconds(600), "restored 1 table, 3 rows into PostgreSQL 15.20 in 0.4 s", 1, 3);
    // only a done backup takes a test outcome (the test follows the completion on the same partition)
    listing.verified("b1", passed);
    assertThat(listing.find("a", "b1")).map(Row::verification).isEmpty();

    listing.advance("b1", Status.DONE, sized(of("a", t0), 10L));
    listing.verified("b1", passed);
    listing.advance("b1", Status.DONE, sized(of("a", t0), 10L));
    listing.verified("b1", passed);
    assertThat(listing.ofAddon("a")).singleElement().extracting(Row::verification).isEqualTo(passed);

    listing.advance("b2", Status.DONE, of("a", t0));
    listing.advance("b2", Status.PRUNED, Stage.pruned("a", "app", "r"));
    listing.verified("b2", passed);
    assertThat(listing.find("a", "b2")).isEmpty();
  }
}
