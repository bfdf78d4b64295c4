package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** PostgreSQL's messages as pg_dump, pg_restore and psql print them. */
class PostgresFailuresTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "pg_dump: error: connection to server at \"10.0.0.5\", port 5432 failed: Connection refused\n"
          + "\tIs the server running on that host and accepting TCP/IP connections?",
      "pg_dump: error: Dumping the contents of table \"orders\" failed: PQgetResult() failed.\n"
          + "pg_dump: detail: Error message from server: ERROR:  canceling statement due to conflict with recovery\n"
          + "DETAIL:  User query might have needed to see row versions that must be removed.",
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is starting up",
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is shutting down",
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients already",
      "pg_dump: error: connection to server at \"10.0.0.9\", port 5432 failed: timeout expired",
      "pg_dump: error: Dumping the contents of table \"t\" failed: PQgetResult() failed.\n"
          + "pg_dump: detail: Error message from server: server closed the connection unexpectedly\n"
          + "\tThis probably means the server terminated abnormally",
      "pg_restore: error: could not execute query: FATAL:  terminating connection due to administrator command"})
  void a_server_restarting_busy_unreachable_or_replaying_wal_is_worth_another_attempt(String reason) {
    assertThat(PostgresFailures.CLASSIFIER.isTransient(reason)).as(reason).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\"",
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nope\" does not exist",
      "pg_dump: error: connection to server at \"10.0.0.5\", port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.7\", user \"app\", database \"app\", no encryption",
      "pg_dump: error: query failed: ERROR:  permission denied for table orders",
      "could not write the dump: No space left on device",
      "pg_dump was killed after the 6 h dump timeout",
      "something nobody has seen before"})
  void a_misconfiguration_or_anything_unknown_fails_at_once(String reason) {
    assertThat(PostgresFailures.CLASSIFIER.isTransient(reason)).as(reason).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "mysqldump: Got error: 2013: \"Lost connection to server during query\" when dumping table `orders` at row: 10",
      "mysqldump: Got error: 1040: \"Too many connections\" when trying to connect"})
  void mysql_words_are_not_postgresql_ones(String reason) {
    assertThat(PostgresFailures.CLASSIFIER.isTransient(reason)).as(reason).isFalse();
  }
}
