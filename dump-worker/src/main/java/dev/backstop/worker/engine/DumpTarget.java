package dev.backstop.worker.engine;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.ConnectionValues.InvalidConnectionValue;
import dev.backstop.kit.addon.ConnectionValues.Violation;
import dev.backstop.kit.addon.ConnectionValues;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * One database on one node, with the credentials to read it. {@link #toString()} hides the password.
 *
 * <p>Every value here reaches a tool's argv, option file or pgpass line, so a target breaking
 * {@link ConnectionValues}' rules cannot be made: the constructor throws {@link InvalidConnectionValue}
 * (naming the fields, never the values). An addon's settings are checked with {@link #refusal} before
 * any target is built from them, so that such a backup fails with that reason instead of throwing.
 * Two relaxations serve the scratch servers only: an empty database (MySQL's administrator connects to
 * none) and an empty password (a server that trusts Backstop's connections).
 */
public record DumpTarget(String host, int port, String database, String user, String password) {

  public DumpTarget {
    List<Violation> violations = new ArrayList<>(ConnectionValues.checkForTool(host, port,
        database == null || database.isEmpty() ? "none" : database, user, password == null ? "" : password));
    if (!violations.isEmpty()) {
      throw new InvalidConnectionValue(violations);
    }
    password = password == null ? "" : password;
  }

  /**
   * Why an addon's settings cannot be dumped, naming each offending field and never its value; null when
   * every node's settings pass. Checked once per backup, before a probe or a dump runs anything.
   */
  public static String refusal(List<Addon.Node> nodes, String database, String user, String password) {
    LinkedHashSet<String> problems = new LinkedHashSet<>();
    for (Addon.Node node : nodes) {
      ConnectionValues.checkForTool(node.host(), node.port(), database, user, password)
          .forEach(v -> problems.add(v.toString()));
    }
    return problems.isEmpty() ? null : "invalid connection settings: " + String.join("; ", problems);
  }

  @Override
  public String toString() {
    return user + "@" + host + ":" + port + "/" + database;
  }
}
