package dev.backstop.retention.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.addon.Addon;
import dev.backstop.retention.policy.PlanHistory;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongoDatabases;
import java.time.ZoneId;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RetentionCatalogTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();
  private final Instant t0 = Instant.parse("2026-11-01T01:00:00Z");

  private static Addon addon(Plan plan, long revision) {
    return Addon.of(Events.addon("a", "app", plan, 1, "Europe/Paris"), revision);
  }

  @Test
  void every_revision_joins_the_plan_history_whatever_order_it_arrives_in() {
    var catalog = new RetentionCatalog(mongo.fresh("catalog-history"));
    catalog.recordPolicy(addon(Plan.BUSINESS, 1), t0);
    catalog.recordRemoval("a", 3, t0.plusSeconds(300));
    // revision 2 read late (a redelivery): too old for the current plan, still part of the history
    assertThat(catalog.recordPolicy(addon(Plan.SANDBOX, 2), t0.plusSeconds(200))).isFalse();
    catalog.recordPolicy(addon(Plan.SANDBOX, 2), t0.plusSeconds(200));

    var policy = catalog.policies(List.of("a")).get("a");
    assertThat(policy.plan()).as("a removed addon keeps the plan it had").isEqualTo(Plan.BUSINESS);
    assertThat(policy.zone()).isEqualTo(ZoneId.of("Europe/Paris"));
    assertThat(policy.history().changes()).containsExactly(
        new PlanHistory.Change(t0, Plan.BUSINESS),
        new PlanHistory.Change(t0.plusSeconds(200), Plan.SANDBOX),
        new PlanHistory.Change(t0.plusSeconds(300), null));
  }
}
