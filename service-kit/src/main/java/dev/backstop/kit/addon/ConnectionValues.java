package dev.backstop.kit.addon;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The rules for every value of an addon's connection settings that reaches an external tool's argv,
 * option file, pgpass line or connection string ({@code pg_dump}, {@code mysqldump}, {@code mysql},
 * {@code psql}, {@code pg_restore}, and what PITR adds). Checked where the values enter (the operator
 * API) and again where a tool is about to be run, so that a value stored before these rules existed,
 * or replayed from the addons topic, still cannot become an option.
 *
 * <ul>
 *   <li>No control, line- or paragraph-separator character anywhere: a line break is how a value
 *       escapes an option file or a pgpass line.</li>
 *   <li>Host: a DNS name (letters, digits, {@code -}, {@code _}, dots) or an IPv4/IPv6 literal; never a
 *       leading {@code -} (the MySQL client silently drops such a host and dumps localhost).</li>
 *   <li>User: any printable characters but no leading {@code -}.</li>
 *   <li>Database: letters, digits, {@code _ $ -}, no leading {@code -}: it cannot be read as an
 *       option, nor as a PostgreSQL connection string (which needs {@code =} or a {@code ://} URI).</li>
 *   <li>Password: any printable character, including {@code # ; = : ' " \} and spaces.</li>
 * </ul>
 *
 * <p>Messages name the field and the rule, never the value: a rejected password must not be echoed.
 */
public final class ConnectionValues {

  public static final int MAX_HOST = 253;
  public static final int MAX_USER = 63;
  public static final int MAX_DATABASE = 63;
  public static final int MAX_PASSWORD = 1024;

  private static final Pattern HOST_NAME = Pattern.compile(
      "[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\\.?");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
  private static final Pattern DATABASE = Pattern.compile("[A-Za-z0-9_$][A-Za-z0-9_$-]*");

  private ConnectionValues() {}

  /** A value that broke a rule: which field, and why (without the value). */
  public record Violation(String field, String message) {
    @Override
    public String toString() {
      return field + " " + message;
    }
  }

  /** Thrown where a tool is about to run with a value that breaks a rule. */
  public static final class InvalidConnectionValue extends IllegalArgumentException {
    private final transient List<Violation> violations;

    public InvalidConnectionValue(List<Violation> violations) {
      super("invalid connection settings: " + String.join("; ", violations.stream().map(Violation::toString).toList()));
      this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
      return violations;
    }
  }

  public static Optional<String> checkHost(String host) {
    if (host == null || host.isEmpty()) {
      return Optional.of("must not be empty");
    }
    if (host.length() > MAX_HOST) {
      return Optional.of("must be at most " + MAX_HOST + " characters");
    }
    if (hasControl(host)) {
      return Optional.of("must not contain control characters or line breaks");
    }
    if (host.startsWith("-")) {
      return Optional.of("must not start with '-'");
    }
    if (!HOST_NAME.matcher(host).matches() && !IPV6.matcher(host).matches()) {
      return Optional.of("must be a host name or an IP address");
    }
    return Optional.empty();
  }

  public static Optional<String> checkUser(String user) {
    if (user == null || user.isBlank()) {
      return Optional.of("must not be blank");
    }
    if (user.length() > MAX_USER) {
      return Optional.of("must be at most " + MAX_USER + " characters");
    }
    if (hasControl(user)) {
      return Optional.of("must not contain control characters or line breaks");
    }
    if (user.startsWith("-")) {
      return Optional.of("must not start with '-'");
    }
    return Optional.empty();
  }

  public static Optional<String> checkDatabase(String database) {
    if (database == null || database.isEmpty()) {
      return Optional.of("must not be empty");
    }
    if (database.length() > MAX_DATABASE) {
      return Optional.of("must be at most " + MAX_DATABASE + " characters");
    }
    if (database.startsWith("-")) {
      return Optional.of("must not start with '-'");
    }
    if (!DATABASE.matcher(database).matches()) {
      return Optional.of("must be a plain database name (letters, digits, '_', '$', '-')");
    }
    return Optional.empty();
  }

  public static Optional<String> checkPassword(String password) {
    if (password == null || password.isEmpty()) {
      return Optional.of("must not be empty");
    }
    if (password.length() > MAX_PASSWORD) {
      return Optional.of("must be at most " + MAX_PASSWORD + " characters");
    }
    if (hasControl(password)) {
      return Optional.of("must not contain control characters or line breaks");
    }
    return Optional.empty();
  }

  public static Optional<String> checkPort(int port) {
    return port >= 1 && port <= 65535 ? Optional.empty() : Optional.of("must be between 1 and 65535");
  }

  /** Every violation of one server's settings, by field name. */
  public static List<Violation> check(String host, int port, String database, String user, String password) {
    List<Violation> violations = new ArrayList<>();
    checkHost(host).ifPresent(m -> violations.add(new Violation("host", m)));
    checkPort(port).ifPresent(m -> violations.add(new Violation("port", m)));
    checkDatabase(database).ifPresent(m -> violations.add(new Violation("database", m)));
    checkUser(user).ifPresent(m -> violations.add(new Violation("user", m)));
    checkPassword(password).ifPresent(m -> violations.add(new Violation("password", m)));
    return violations;
  }

  /**
   * The rules as a tool applies them where it runs: the same as {@link #check}, except that an empty
   * password is allowed. The operator API requires one; a tool given none sends none, which is safe
   * (and what servers that trust local connections, such as the scratch servers, are reached with).
   */
  public static List<Violation> checkForTool(String host, int port, String database, String user, String password) {
    List<Violation> violations = new ArrayList<>();
    checkHost(host).ifPresent(m -> violations.add(new Violation("host", m)));
    checkPort(port).ifPresent(m -> violations.add(new Violation("port", m)));
    checkDatabase(database).ifPresent(m -> violations.add(new Violation("database", m)));
    checkUser(user).ifPresent(m -> violations.add(new Violation("user", m)));
    if (password != null && !password.isEmpty()) {
      checkPassword(password).ifPresent(m -> violations.add(new Violation("password", m)));
    }
    return violations;
  }

  /** Throws {@link InvalidConnectionValue} unless every value passes: the last check before a tool runs. */
  public static void require(String host, int port, String database, String user, String password) {
    List<Violation> violations = check(host, port, database, user, password);
    if (!violations.isEmpty()) {
      throw new InvalidConnectionValue(violations);
    }
  }

  /**
   * True when the value holds a character that can end a line or is not printable: C0/C1 controls
   * (NUL, CR, LF, TAB, ESC, NEL…), U+2028/U+2029, or a lone surrogate (not a character at all).
   */
  public static boolean hasControl(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      int type = Character.getType(c);
      if (type == Character.CONTROL || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) {
        return true;
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= value.length() || !Character.isLowSurrogate(value.charAt(i + 1))) {
          return true;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
