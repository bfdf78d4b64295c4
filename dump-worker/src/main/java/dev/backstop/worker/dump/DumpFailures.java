package dev.backstop.worker.dump;

import java.util.List;
import java.util.Locale;

/**
 * Which dump failures are worth another attempt. A server restarting, a failover, a full connection
 * table or a standby cancelling a long query to replay WAL pass in minutes; a wrong password, a
 * missing database or a full disk do not, and retrying them only delays the reason customers need to
 * see. Anything not recognised as transient is permanent: a retry must be earned.
 */
public final class DumpFailures {

  private static final List<String> TRANSIENT = List.of(
      // PostgreSQL client and server messages
      "could not connect to server", "connection refused", "server closed the connection unexpectedly",
      "canceling statement due to conflict with recovery", "terminating connection due to administrator command",
      "terminating connection due to conflict with recovery", "the database system is starting up",
      "the database system is shutting down", "the database system is in recovery mode",
      "sorry, too many clients already", "timeout expired", "could not receive data from server",
      "no route to host", "network is unreachable", "temporary failure in name resolution",
      // MySQL and MariaDB
      "can't connect to", "lost connection to", "too many connections", "server has gone away",
      "deadlock found", "lock wait timeout exceeded");

  private static final List<String> PERMANENT = List.of(
      "password authentication failed", "access denied", "does not exist", "unknown database",
      "no space left on device", "permission denied");

  private DumpFailures() {}

  /** True when the reason says the database was unreachable or busy for a while, not misconfigured. */
  public static boolean isTransient(String reason) {
    if (reason == null) {
      return false;
    }
    String text = reason.toLowerCase(Locale.ROOT);
    return PERMANENT.stream().noneMatch(text::contains) && TRANSIENT.stream().anyMatch(text::contains);
  }
}
