package dev.backstop.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DumpFailuresTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "pg_dump: error: connection to server at \"10.0.0.5\", port 5432 failed: Connection refused",
      "pg_dump: error: Dumping the contents of table \"orders\" failed: PQgetResult() failed.\n"
          + "ERROR: canceling statement due to conflict with recovery",
      "pg_dump: error: connection to server failed: FATAL: the database system is starting up",
      "pg_dump: error: connection to server failed: FATAL: sorry, too many clients already",
      "mysqldump: Got error: 2013: Lost connection to server during query when dumping table `orders`",
      "mysqldump: Got error: 1040: Too many connections"})
  void an_unreachable_or_busy_database_is_worth_another_attempt(String reason) {
    assertThat(DumpFailures.isTransient(reason)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "pg_dump: error: connection to server failed: FATAL: password authentication failed for user \"app\"",
      "pg_dump: error: connection to server failed: FATAL: database \"nope\" does not exist",
      "mysqldump: Got error: 1045: Access denied for user 'app'@'10.0.0.7' (using password: YES)",
      "mysqldump: Got error: 1049: Unknown database 'nope'",
      "could not write the dump: No space left on device",
      "pg_dump was killed after the 6 h dump timeout",
      "something nobody has seen before"})
  void a_misconfiguration_or_anything_unknown_fails_at_once(String reason) {
    assertThat(DumpFailures.isTransient(reason)).isFalse();
  }
}
