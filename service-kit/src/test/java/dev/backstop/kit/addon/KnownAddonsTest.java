package dev.backstop.kit.addon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupSchedule;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import dev.backstop.testing.TestMongoDatabases;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class KnownAddonsTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");

  static AddonSpec spec(String id, Plan plan, int hour) {
    return new AddonSpec(id, "shop", Engine.MYSQL, plan, "db", "u", new SealedSecret("k1", ByteBuffer.wrap(new byte[] {9, 8})),
        List.of(new DatabaseNode(NodeRole.PRIMARY, "db-1", 3306)), new BackupSchedule(true, hour, "Europe/Paris"));
  }

  @Test
  void an_addon_event_is_stored_as_the_addon_it_describes_and_gives_the_same_spec_back() {
    KnownAddons addons = new KnownAddons(mongo.named("known"), "same-spec");
    AddonSpec spec = spec("a-1", Plan.STARTER, 3);

    assertThat(addons.upsert(spec, 1, T0)).isTrue();

    Addon addon = addons.find("a-1").orElseThrow();
    assertThat(addon).isEqualTo(Addon.of(spec, 1));
    assertThat(addon.toSpec()).isEqualTo(spec);
    assertThat(addon.schedule().at().hour()).isEqualTo(3);
    assertThat(addons.ofApp("shop")).containsExactly(addon);
  }

  @Test
  void a_late_older_revision_changes_nothing_but_joins_the_plan_history_in_revision_order() {
    KnownAddons addons = new KnownAddons(mongo.named("known"), "late");
    addons.upsert(spec("a-2", Plan.SANDBOX, 3), 2, T0.plusSeconds(60));
    assertThat(addons.upsert(spec("a-2", Plan.BUSINESS, 5), 1, T0)).isFalse();
    addons.markRemoved("a-2", 3, T0.plusSeconds(120));

    Addon addon = addons.find("a-2").orElseThrow();
    assertThat(addon.plan()).isEqualTo(Plan.SANDBOX);
    assertThat(addon.removed()).isTrue();
    assertThat(addon.hasBackups()).isFalse();
    assertThat(addons.revision("a-2")).isEqualTo(3);
    assertThat(addons.planChanges("a-2")).containsExactly(
        new KnownAddons.PlanChange(T0, Plan.BUSINESS),
        new KnownAddons.PlanChange(T0.plusSeconds(60), Plan.SANDBOX),
        new KnownAddons.PlanChange(T0.plusSeconds(120), null));
  }

  @Test
  void a_removal_heard_before_the_registration_is_not_an_addon() {
    KnownAddons addons = new KnownAddons(mongo.named("known"), "early-removal");
    addons.markRemoved("a-3", 2, T0);

    assertThat(addons.find("a-3")).isEmpty();
    assertThat(addons.upsert(spec("a-3", Plan.STARTER, 1), 1, T0)).isFalse();
    assertThat(addons.find("a-3")).isEmpty();
  }
}
