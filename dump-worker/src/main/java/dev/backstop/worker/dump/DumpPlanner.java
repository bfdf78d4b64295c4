package dev.backstop.worker.dump;

import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import java.util.List;
import java.util.Optional;

/** Chooses the node a backup is dumped from, and says why. */
public final class DumpPlanner {

  /** The node to dump and the reason it was chosen, as it appears in events. */
  public record Choice(DatabaseNode node, String why) {
    public String label() {
      return node.getRole() + "@" + node.getHost() + ":" + node.getPort();
    }
  }

  private DumpPlanner() {}

  /**
   * Business addons are dumped on a secondary so that the primary carries no dump load; other plans
   * have only a primary. A Business addon registered without a secondary falls back to the primary,
   * and the choice says so.
   */
  public static Optional<Choice> choose(Plan plan, List<DatabaseNode> nodes) {
    Optional<DatabaseNode> primary = first(nodes, NodeRole.PRIMARY);
    if (plan == Plan.BUSINESS) {
      Optional<DatabaseNode> secondary = first(nodes, NodeRole.SECONDARY);
      if (secondary.isPresent()) {
        return secondary.map(n -> new Choice(n, "business plan: dumped on a secondary"));
      }
      return primary.map(n -> new Choice(n, "business plan without a secondary: dumped on the primary"));
    }
    return primary.map(n -> new Choice(n, plan.name().toLowerCase() + " plan: dumped on the primary"));
  }

  private static Optional<DatabaseNode> first(List<DatabaseNode> nodes, NodeRole role) {
    return nodes.stream().filter(n -> n.getRole() == role).findFirst();
  }
}
