package dev.backstop.worker.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MysqlDumpFilterTest {

  private static final String DUMP = String.join("\n",
      "/*M!999999\\- enable the sandbox mode */ ",
      "/*!40101 SET NAMES binary*/;",
      "CREATE TABLE `t` (",
      "  `id` int(11) NOT NULL",
      ");",
      "INSERT INTO `t` VALUES (1,'DEFINER=`x`@`y` stays: it is data'),(2,'USE `other`');",
      "INSERT INTO `t` VALUES",
      "(3,'DEFINER=`x`@`y` on a row line of its own'),",
      "(4,'x');",
      "/*!50001 CREATE ALGORITHM=UNDEFINED */",
      "/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */",
      "/*!50001 VIEW `v` AS select 1 */;",
      "/*!50003 CREATE*/ /*!50017 DEFINER=`ro``ot`@`%`*/ /*!50003 TRIGGER `tr` AFTER INSERT ON `t` FOR EACH ROW set @a = 1 */;;",
      "CREATE DEFINER=`app`@`10.0.0.%` PROCEDURE `p`()",
      "begin select 1; end ;;",
      "/*!50106 CREATE*/ /*!50117 DEFINER=`a_role`*/ /*!50106 EVENT `e` ON SCHEDULE EVERY 1 DAY DO select 1 */ ;;",
      "");

  @ParameterizedTest(name = "read {0} byte(s) at a time")
  @ValueSource(ints = {1, 3, 7, 1 << 16})
  void definer_clauses_are_removed_in_every_form_mysqldump_writes_and_rows_pass_untouched(int step) throws IOException {
    String filtered = read(DUMP, step);

    assertThat(filtered).doesNotContain("`root`", "ro``ot", "`app`", "a_role")
        .contains("/*!50013  SQL SECURITY DEFINER */", "/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER",
            "CREATE  PROCEDURE `p`()", "/*!50106 CREATE*/ /*!50117 */ /*!50106 EVENT",
            "INSERT INTO `t` VALUES (1,'DEFINER=`x`@`y` stays: it is data'),(2,'USE `other`');", "/*M!999999\\- enable",
            "(3,'DEFINER=`x`@`y` on a row line of its own'),");
    assertThat(filtered.lines().count()).isEqualTo(DUMP.lines().count());
  }

  @ParameterizedTest
  @ValueSource(strings = {"USE `other`;", "use other;", "/*!40000 USE `x` */;", "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `x`;",
      "  create schema x;", "DROP DATABASE x;", "\\u other", "CONNECT other"})
  void a_statement_that_leaves_the_scratch_database_stops_the_stream_before_it(String statement) {
    String dump = "CREATE TABLE `a` (i int);\n" + statement + "\nCREATE TABLE `b` (i int);\n";
    StringBuilder passed = new StringBuilder();
    assertThatThrownBy(() -> {
      try (InputStream in = new MysqlDumpFilter(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)))) {
        for (int b; (b = in.read()) >= 0; ) {
          passed.append((char) b);
        }
      }
    }).isInstanceOf(MysqlDumpFilter.ForbiddenStatement.class).hasMessageContaining("at line 2");
    assertThat(passed.toString()).isEqualTo("CREATE TABLE `a` (i int);\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"DEFINER=`unterminated", "DEFINER=`u`@x", "x DEFINER=`u`@`h"})
  void what_only_looks_like_the_start_of_a_definer_clause_passes_unchanged(String text) throws IOException {
    assertThat(read(text + "\nnext\n", 2)).isEqualTo(text + "\nnext\n");
  }

  @ParameterizedTest(name = "read {0} byte(s) at a time")
  @ValueSource(ints = {1, 2, 5, 1 << 16})
  void rows_pass_a_line_at_a_time_and_the_line_after_the_statement_they_end_is_checked_again(int step) {
    // line ends of either kind; a continued INSERT's row lines are data whatever they start with
    String rows = "INSERT INTO `t` VALUES\r\n(1,'a'),\r\nUSE `x` looks like a statement, but it is a row,\n(2,'b');\r\n";
    StringBuilder passed = new StringBuilder();
    assertThatThrownBy(() -> passed.append(read(rows + "USE `other`;\n", step)))
        .isInstanceOf(MysqlDumpFilter.ForbiddenStatement.class).hasMessageContaining("at line 5");
    assertThat(passed).isEmpty();
    assertThat(readQuietly(rows + "CREATE TABLE `u` (i int);\n", step)).isEqualTo(rows + "CREATE TABLE `u` (i int);\n");
  }

  private static String readQuietly(String dump, int step) {
    try {
      return read(dump, step);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @org.junit.jupiter.api.Test
  void the_restore_reads_the_filtered_dump_between_its_session_settings_and_a_final_commit() throws IOException {
    String dump = "CREATE DEFINER=`app`@`%` PROCEDURE `p`() select 1;\nINSERT INTO `t` VALUES (1);";
    try (InputStream in = MysqlDumpFilter.forRestore(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)))) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(
          "SET SESSION unique_checks = 0, foreign_key_checks = 0;\n"
              + "CREATE  PROCEDURE `p`() select 1;\nINSERT INTO `t` VALUES (1);\nCOMMIT;\n");
    }
  }

  @org.junit.jupiter.api.Test
  void a_forbidden_statement_still_stops_the_restore_after_the_session_settings() throws IOException {
    try (InputStream in = MysqlDumpFilter.forRestore(new ByteArrayInputStream("USE `other`;\n".getBytes(StandardCharsets.UTF_8)))) {
      assertThatThrownBy(in::readAllBytes).isInstanceOf(MysqlDumpFilter.ForbiddenStatement.class);
    }
  }

  private static String read(String dump, int step) throws IOException {
    InputStream source = new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        return super.read(b, off, Math.min(len, step));
      }
    };
    try (InputStream in = new MysqlDumpFilter(source)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
