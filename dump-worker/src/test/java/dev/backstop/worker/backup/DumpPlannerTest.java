package dev.backstop.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.addon.Addon;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.worker.backup.DumpPlanner.Choice;
import dev.backstop.worker.backup.DumpPlanner.Refusal;
import dev.backstop.worker.backup.DumpPlanner.SecondaryRules;
import dev.backstop.worker.engine.ReplicaProbe.ReplicaState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DumpPlannerTest {

  private final Addon.Node primary = new Addon.Node(NodeRole.PRIMARY, "p", 5432);
  private final Addon.Node secondary = new Addon.Node(NodeRole.SECONDARY, "s", 5433);
  private final Addon.Node other = new Addon.Node(NodeRole.SECONDARY, "t", 5434);
  private final SecondaryRules rules = new SecondaryRules(Duration.ofMinutes(5), true);

  @Test
  void business_is_dumped_on_a_secondary_that_replicates_and_keeps_up() {
    var decision = DumpPlanner.choose(Plan.BUSINESS, List.of(primary, secondary), n -> ReplicaState.ok(Duration.ofMillis(250)), rules);
    assertThat(decision).isInstanceOfSatisfying(Choice.class, choice -> {
      assertThat(choice.node()).isEqualTo(secondary);
      assertThat(choice.label()).isEqualTo("SECONDARY@s:5433");
      assertThat(choice.why()).isEqualTo("business plan: dumped on a secondary (replication lag 0.3 s)");
    });
  }

  @Test
  void a_lagging_secondary_is_passed_over_for_the_next_one() {
    Map<Addon.Node, ReplicaState> states = Map.of(secondary, ReplicaState.ok(Duration.ofMinutes(7)), other, ReplicaState.ok(Duration.ZERO));
    var decision = DumpPlanner.choose(Plan.BUSINESS, List.of(primary, secondary, other), states::get, rules);
    assertThat(decision).isInstanceOfSatisfying(Choice.class, choice -> assertThat(choice.node()).isEqualTo(other));
  }

  @Test
  void business_falls_back_to_the_primary_when_no_secondary_qualifies_and_says_why() {
    Map<Addon.Node, ReplicaState> states = Map.of(secondary, ReplicaState.ok(Duration.ofMinutes(7)),
        other, ReplicaState.broken("not streaming from its primary (WAL receiver: none)"));
    var decision = DumpPlanner.choose(Plan.BUSINESS, List.of(primary, secondary, other), states::get, rules);
    assertThat(decision).isInstanceOfSatisfying(Choice.class, choice -> {
      assertThat(choice.node()).isEqualTo(primary);
      assertThat(choice.why()).isEqualTo("no secondary qualified: SECONDARY@s:5433 lags 420 s behind its primary (at most 300 s "
          + "allowed); SECONDARY@t:5434 not streaming from its primary (WAL receiver: none): dumped on the primary");
    });
  }

  @Test
  void without_the_fallback_a_business_addon_with_no_healthy_secondary_fails_with_the_reason() {
    var decision = DumpPlanner.choose(Plan.BUSINESS, List.of(primary, secondary), n -> ReplicaState.broken("unreachable: refused"),
        new SecondaryRules(Duration.ofMinutes(5), false));
    assertThat(decision).isEqualTo(new Refusal(
        "no secondary qualified: SECONDARY@s:5433 unreachable: refused; dumping the primary instead is turned off"));
  }

  @Test
  void business_without_a_secondary_falls_back_to_the_primary_and_says_so() {
    var decision = DumpPlanner.choose(Plan.BUSINESS, List.of(primary), n -> { throw new AssertionError("no secondary to probe"); }, rules);
    assertThat(decision).isInstanceOfSatisfying(Choice.class, choice -> {
      assertThat(choice.node()).isEqualTo(primary);
      assertThat(choice.why()).contains("without a secondary");
    });
  }

  @Test
  void starter_is_dumped_on_its_primary_without_asking_anyone() {
    var decision = DumpPlanner.choose(Plan.STARTER, List.of(primary), n -> { throw new AssertionError("not probed"); }, rules);
    assertThat(decision).isInstanceOfSatisfying(Choice.class, choice -> assertThat(choice.node()).isEqualTo(primary));
  }

  @Test
  void no_primary_no_dump() {
    assertThat(DumpPlanner.choose(Plan.STARTER, List.of(), n -> null, rules)).isInstanceOf(Refusal.class);
  }
}
