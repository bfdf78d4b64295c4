package dev.backstop.worker.backup;

import dev.backstop.kit.addon.Addon;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.worker.engine.ReplicaProbe.ReplicaState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** Chooses the node a backup is dumped from, and says why. */
public final class DumpPlanner {

  /** What the planner decided. */
  public sealed interface Decision {}

  /** The node to dump and the reason it was chosen, as it appears in events. */
  public record Choice(Addon.Node node, String why) implements Decision {
    public String label() {
      return DumpPlanner.label(node);
    }
  }

  /** No node may be dumped; the reason is the backup's failure reason. */
  public record Refusal(String reason) implements Decision {}

  /** How secondaries are judged: the replication lag they may have, and whether the primary stands in for them. */
  public record SecondaryRules(Duration maxLag, boolean fallBackToPrimary) {}

  private DumpPlanner() {}

  /**
   * Business addons are dumped on a secondary so that the primary carries no dump load: the first
   * secondary that replicates and lags at most {@code rules.maxLag()}. When none qualifies, the primary
   * is dumped if the rules allow it (a backup on the primary beats none), and the reason names each
   * secondary's problem. Other plans have only a primary.
   */
  public static Decision choose(Plan plan, List<Addon.Node> nodes, Function<Addon.Node, ReplicaState> probe,
      SecondaryRules rules) {
    Optional<Addon.Node> primary = nodes.stream().filter(n -> n.role() == NodeRole.PRIMARY).findFirst();
    if (plan != Plan.BUSINESS) {
      return primary.<Decision>map(n -> new Choice(n, plan.name().toLowerCase() + " plan: dumped on the primary"))
          .orElse(new Refusal("the addon has no primary node to dump"));
    }
    List<String> problems = new ArrayList<>();
    for (Addon.Node secondary : nodes.stream().filter(n -> n.role() == NodeRole.SECONDARY).toList()) {
      ReplicaState state = probe.apply(secondary);
      if (!state.replicating()) {
        problems.add(label(secondary) + " " + state.problem());
      } else if (state.lag().compareTo(rules.maxLag()) > 0) {
        problems.add(label(secondary) + " lags " + seconds(state.lag()) + " behind its primary (at most " + seconds(rules.maxLag())
            + " allowed)");
      } else {
        return new Choice(secondary, "business plan: dumped on a secondary (replication lag " + seconds(state.lag()) + ")");
      }
    }
    String why = problems.isEmpty() ? "business plan without a secondary" : "no secondary qualified: " + String.join("; ", problems);
    if (primary.isEmpty()) {
      return new Refusal(why + "; the addon has no primary node either");
    }
    if (!rules.fallBackToPrimary()) {
      return new Refusal(why + "; dumping the primary instead is turned off");
    }
    return new Choice(primary.get(), why + ": dumped on the primary");
  }

  static String label(Addon.Node node) {
    return node.role() + "@" + node.host() + ":" + node.port();
  }

  private static String seconds(Duration lag) {
    return lag.toMillis() < 10_000 ? String.format(java.util.Locale.ROOT, "%.1f s", lag.toMillis() / 1000.0) : lag.toSeconds() + " s";
  }
}
