package dev.backstop.worker.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** MySQL's and MariaDB's messages as mysqldump and mysql print them. */
class MysqlFailuresTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "mysqldump: Got error: 2002: \"Can't connect to server on '10.0.0.5' (115)\" when trying to connect",
      "mysqldump: Got error: 2003: \"Can't connect to MySQL server on '10.0.0.5:3306' (111)\" when trying to connect",
      "mysqldump: Error 2013: Lost connection to server during query when dumping table `orders` at row: 1200",
      "mysqldump: Got error: 1040: \"Too many connections\" when trying to connect",
      "mysqldump: Couldn't execute 'SHOW TABLES': MySQL server has gone away (2006)",
      "mysqldump: Got error: 1053: \"Server shutdown in progress\" when using LOCK TABLES",
      "ERROR 1213 (40001) at line 52: Deadlock found when trying to get lock; try restarting transaction"})
  void an_unreachable_restarting_or_busy_server_is_worth_another_attempt(String reason) {
    assertThat(MysqlFailures.CLASSIFIER.isTransient(reason)).as(reason).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "mysqldump: Got error: 1045: \"Access denied for user 'app'@'10.0.0.7' (using password: YES)\" when trying to connect",
      "mysqldump: Got error: 1049: \"Unknown database 'nope'\" when selecting the database",
      "mysqldump: unknown option '--[hidden]'",
      "mysqldump: Got errno 28 on write (Errcode: 28 \"No space left on device\")",
      "ERROR 1064 (42000) at line 20: You have an error in your SQL syntax",
      "something nobody has seen before"})
  void a_misconfiguration_or_anything_unknown_fails_at_once(String reason) {
    assertThat(MysqlFailures.CLASSIFIER.isTransient(reason)).as(reason).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is starting up",
      "ERROR:  canceling statement due to conflict with recovery"})
  void postgresql_words_are_not_mysql_ones(String reason) {
    assertThat(MysqlFailures.CLASSIFIER.isTransient(reason)).as(reason).isFalse();
  }
}
