package dev.backstop.gateway.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Status;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import dev.backstop.testing.TestMongoDatabases;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The retention endpoint explains what the retention service does, also after the plan changed. */
class RetentionAfterPlanChangeTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private static final Instant REGISTERED = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant DOWNGRADE = Instant.parse("2026-03-01T12:00:00Z");

  private static AddonSpec spec(Plan plan) {
    return new AddonSpec("pg", "shop", Engine.POSTGRESQL, plan, "db", "u", new SealedSecret("k", ByteBuffer.wrap(new byte[] {1})),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "db-1", 5432)), new BackupSchedule(true, 1, "UTC"));
  }

  private static void done(BackupListing listing, String id, Instant at) {
    listing.advance(id, Status.DONE, BackupListing.Stage.requested("pg", "shop", "MANUAL", at).started("db-1", "primary", at)
        .completed(10L, "00", "shop/pg/" + id + ".zst", id + ".zst", at.plusSeconds(60)));
  }

  @Test
  void after_a_downgrade_from_business_to_sandbox_the_backups_are_kept_under_the_business_plan_until_an_expiry() {
    var database = mongo.fresh("retention-downgrade");
    KnownAddons addons = new KnownAddons(database, "addons");
    BackupListing listing = new BackupListing(database);
    addons.upsert(spec(Plan.BUSINESS), 1, REGISTERED);
    done(listing, "m1", DOWNGRADE.minus(Duration.ofDays(20)));
    done(listing, "m2", DOWNGRADE.minus(Duration.ofDays(2)));
    addons.upsert(spec(Plan.SANDBOX), 2, DOWNGRADE);
    Instant now = DOWNGRADE.plus(Duration.ofDays(1));

    var view = new RetentionController(addons, listing, new dev.backstop.gateway.pitr.PitrProjection(database), Clock.fixed(now, ZoneOffset.UTC)).explain("shop", "pg");

    assertThat(view.plan()).isEqualTo("sandbox");
    assertThat(view.backups()).isNotEmpty();
    assertThat(view.backups()).allSatisfy(kept -> {
      assertThat(kept.keptBy()).anyMatch(text -> text.startsWith("stopped: the addon moved to the sandbox plan on 2026-03-01")
          && text.contains("business plan"));
      assertThat(kept.expiresAt()).isNotNull();
      assertThat(Instant.parse(kept.expiresAt())).isAfter(now);
    });
    assertThat(view.backups()).extracting(RetentionController.KeptBackup::id).contains("m2");
  }
}
