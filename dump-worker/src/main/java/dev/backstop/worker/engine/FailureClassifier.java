package dev.backstop.worker.engine;

import dev.backstop.worker.mysql.MysqlFailures;
import dev.backstop.worker.postgres.PostgresFailures;
import java.util.List;
import java.util.Locale;

/**
 * Whether a failed dump or restore is worth another attempt, read from what the engine's own tools
 * said. Each engine has its own ({@link PostgresFailures}, {@link MysqlFailures}): the messages differ,
 * and one engine's transient word can be another's permanent one. A server restarting, a failover, a
 * full connection table or a standby cancelling a long query pass in minutes; a wrong password, a
 * missing database or a full disk do not, and retrying them only delays the reason customers need to
 * see. Anything not recognised as transient is permanent: a retry must be earned.
 */
public interface FailureClassifier {

  enum Failure { TRANSIENT, PERMANENT }

  Failure classify(String reason);

  default boolean isTransient(String reason) {
    return classify(reason) == Failure.TRANSIENT;
  }

  /**
   * A classifier by substrings of the tool's message (case-insensitive): transient when one of
   * {@code transientWords} occurs and none of {@code permanentWords}, which win (a refused password
   * can be reported after a connection was retried).
   */
  static FailureClassifier bySubstrings(List<String> transientWords, List<String> permanentWords) {
    return reason -> {
      if (reason == null) {
        return Failure.PERMANENT;
      }
      String text = reason.toLowerCase(Locale.ROOT);
      return permanentWords.stream().noneMatch(text::contains) && transientWords.stream().anyMatch(text::contains)
          ? Failure.TRANSIENT : Failure.PERMANENT;
    };
  }
}
