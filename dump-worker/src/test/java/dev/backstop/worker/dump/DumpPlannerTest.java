package dev.backstop.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import java.util.List;
import org.junit.jupiter.api.Test;

class DumpPlannerTest {

  private final DatabaseNode primary = new DatabaseNode(NodeRole.PRIMARY, "p", 5432);
  private final DatabaseNode secondary = new DatabaseNode(NodeRole.SECONDARY, "s", 5433);

  @Test
  void business_is_dumped_on_its_secondary() {
    var choice = DumpPlanner.choose(Plan.BUSINESS, List.of(primary, secondary)).orElseThrow();
    assertThat(choice.node()).isEqualTo(secondary);
    assertThat(choice.label()).isEqualTo("SECONDARY@s:5433");
    assertThat(choice.why()).contains("secondary");
  }

  @Test
  void business_without_a_secondary_falls_back_to_the_primary_and_says_so() {
    var choice = DumpPlanner.choose(Plan.BUSINESS, List.of(primary)).orElseThrow();
    assertThat(choice.node()).isEqualTo(primary);
    assertThat(choice.why()).contains("without a secondary");
  }

  @Test
  void starter_is_dumped_on_its_primary() {
    assertThat(DumpPlanner.choose(Plan.STARTER, List.of(primary)).orElseThrow().node()).isEqualTo(primary);
  }

  @Test
  void no_primary_no_choice() {
    assertThat(DumpPlanner.choose(Plan.STARTER, List.of())).isEmpty();
  }
}
