package dev.backstop.worker.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RowSplitterTest {

  /** As MariaDB's mysqldump writes a table with rows and a trigger, four INSERT statements long. */
  private static final String DUMP = """
      /*M!999999\\- enable the sandbox mode */\s
      -- MariaDB dump 10.19
      /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
      /*!40101 SET NAMES binary */;
      /*!40103 SET TIME_ZONE='+00:00' */;

      DROP TABLE IF EXISTS `t`;
      /*!40101 SET @saved_cs_client     = @@character_set_client */;
      /*!40101 SET character_set_client = utf8mb4 */;
      CREATE TABLE `t` (
        `id` int(11) NOT NULL,
        PRIMARY KEY (`id`)
      ) ENGINE=InnoDB;
      /*!40101 SET character_set_client = @saved_cs_client */;

      LOCK TABLES `t` WRITE;
      /*!40000 ALTER TABLE `t` DISABLE KEYS */;
      INSERT INTO `t` VALUES (1),(2);
      INSERT INTO `t` VALUES (3),(4);
      INSERT INTO `t` VALUES (5),(6);
      INSERT INTO `t` VALUES (7),(8);
      /*!40000 ALTER TABLE `t` ENABLE KEYS */;
      UNLOCK TABLES;
      /*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
      DELIMITER ;;
      /*!50003 CREATE*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW
      SET @x = 1 */;;
      INSERT INTO `t` VALUES (9);;
      DELIMITER ;
      /*!50003 SET sql_mode              = @saved_sql_mode */ ;
      /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
      """;

  @Test
  void every_other_insert_of_a_data_section_goes_to_the_second_connection_with_the_sessions_settings_and_syncs_around_them()
      throws IOException {
    Recorded out = split(DUMP, 1 << 16);

    assertThat(out.main()).isEqualTo("""
        /*M!999999\\- enable the sandbox mode */\s
        -- MariaDB dump 10.19
        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!40101 SET NAMES binary */;
        /*!40103 SET TIME_ZONE='+00:00' */;

        DROP TABLE IF EXISTS `t`;
        /*!40101 SET @saved_cs_client     = @@character_set_client */;
        /*!40101 SET character_set_client = utf8mb4 */;
        CREATE TABLE `t` (
          `id` int(11) NOT NULL,
          PRIMARY KEY (`id`)
        ) ENGINE=InnoDB;
        /*!40101 SET character_set_client = @saved_cs_client */;

        /*!40000 ALTER TABLE `t` DISABLE KEYS */;
        INSERT INTO `t` VALUES (1),(2);
        INSERT INTO `t` VALUES (5),(6);
        <sync second>
        /*!40000 ALTER TABLE `t` ENABLE KEYS */;
        /*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
        DELIMITER ;;
        /*!50003 CREATE*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW
        SET @x = 1 */;;
        INSERT INTO `t` VALUES (9);;
        DELIMITER ;
        /*!50003 SET sql_mode              = @saved_sql_mode */ ;
        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
        """);
    // the table exists, and its first rows are in, before the second connection inserts
    assertThat(out.second()).isEqualTo("""
        /*M!999999\\- enable the sandbox mode */\s
        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!40101 SET NAMES binary */;
        /*!40103 SET TIME_ZONE='+00:00' */;
        /*!40101 SET @saved_cs_client     = @@character_set_client */;
        /*!40101 SET character_set_client = utf8mb4 */;
        /*!40101 SET character_set_client = @saved_cs_client */;
        <sync main>
        INSERT INTO `t` VALUES (3),(4);
        INSERT INTO `t` VALUES (7),(8);
        /*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
        /*!50003 SET sql_mode              = @saved_sql_mode */ ;
        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
        """);
  }

  @Test
  void where_the_dumps_chunks_end_changes_nothing() throws IOException {
    Recorded whole = split(DUMP, 1 << 16);
    for (int size : new int[] {1, 2, 7, 13, 64}) {
      assertThat(split(DUMP, size)).as("chunks of " + size).isEqualTo(whole);
    }
  }

  @Test
  void each_line_a_client_runs_is_known_by_its_line_in_the_dump() throws IOException {
    Recorded out = split(DUMP, 5);

    // the second connection's first rows are the dump's line 19, its second ones line 21
    assertThat(out.dumpLines(RowSplitter.SECOND)).containsSubsequence(19L, 21L);
    assertThat(out.dumpLines(RowSplitter.MAIN)).containsSubsequence(1L, 2L, 3L, 17L, 18L, 20L, 22L, 24L);
  }

  @Test
  void an_insert_over_several_lines_stays_whole_on_one_connection() throws IOException {
    String dump = "CREATE TABLE t (id int);\nLOCK TABLES `t` WRITE;\n"
        + "INSERT INTO `t` VALUES (1),\n(2);\n"
        + "INSERT INTO `t` VALUES (3),\n(4),\n(5);\n"
        + "INSERT INTO `t` VALUES (6);\nUNLOCK TABLES;\n";

    Recorded out = split(dump, 3);

    assertThat(out.main()).isEqualTo("CREATE TABLE t (id int);\nINSERT INTO `t` VALUES (1),\n(2);\nINSERT INTO `t` VALUES (6);\n");
    assertThat(out.second()).isEqualTo("<sync main>\nINSERT INTO `t` VALUES (3),\n(4),\n(5);\n");
  }

  @Test
  void a_setting_however_spelled_is_replayed_and_a_statement_starting_like_one_is_not() throws IOException {
    String dump = "set\tnames binary;\nSET@a = 1;\n/*!40101 set time_zone = '+00:00' */ ;\nSETTINGS_TABLE_IS_NOT_SQL;\n";

    Recorded out = split(dump, 64);

    assertThat(out.second()).isEqualTo("set\tnames binary;\nSET@a = 1;\n/*!40101 set time_zone = '+00:00' */ ;\n");
  }

  @Test
  void a_dump_without_data_sections_goes_to_the_main_connection_whole() throws IOException {
    String dump = "SET NAMES binary;\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n";

    Recorded out = split(dump, 64);

    assertThat(out.main()).isEqualTo(dump);
    assertThat(out.second()).isEqualTo("SET NAMES binary;\n");
  }

  @Test
  void after_a_setting_the_second_connection_cannot_replay_everything_goes_to_the_main_one() throws IOException {
    String dump = "CREATE TABLE t (id int);\nSET @a = 1,\n  @b = 2;\nLOCK TABLES `t` WRITE;\n"
        + "INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES (2);\nUNLOCK TABLES;\nSET @c = 3;\n";

    Recorded out = split(dump, 64);

    assertThat(out.main()).isEqualTo(dump);
    assertThat(out.second()).isEmpty();
  }

  @Test
  void an_insert_inside_another_statement_or_a_block_is_not_rows() throws IOException {
    String dump = "LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES (1);\n"
        + "CREATE VIEW v AS SELECT 1\n"
        + "INSERT INTO `t` VALUES (2);\n"
        + "INSERT INTO `t` VALUES (3);\nUNLOCK TABLES;\n";

    Recorded out = split(dump, 64);

    // the line after an unfinished statement is part of it: it goes where that statement went
    assertThat(out.main()).isEqualTo("INSERT INTO `t` VALUES (1);\nCREATE VIEW v AS SELECT 1\nINSERT INTO `t` VALUES (2);\n");
    assertThat(out.second()).isEqualTo("<sync main>\nINSERT INTO `t` VALUES (3);\n");
  }

  private static Recorded split(String dump, int chunk) throws IOException {
    Recorded out = new Recorded(new StringBuilder[] {new StringBuilder(), new StringBuilder()},
        List.of(new ArrayList<>(), new ArrayList<>()));
    RowSplitter splitter = new RowSplitter(out);
    byte[] bytes = dump.getBytes(StandardCharsets.ISO_8859_1);
    for (int from = 0; from < bytes.length; from += chunk) {
      int n = Math.min(chunk, bytes.length - from);
      byte[] piece = java.util.Arrays.copyOfRange(bytes, from, from + n);
      splitter.accept(piece, n);
    }
    splitter.finish();
    return out;
  }

  /** What each connection was given, with its syncs, and the dump line of each line it was given. */
  private record Recorded(StringBuilder[] text, List<List<Long>> lines) implements RowSplitter.Connections {

    @Override
    public void write(int connection, long dumpLine, byte[] b, int off, int len) {
      String given = new String(b, off, len, StandardCharsets.ISO_8859_1);
      // the contract the load's line count stands on
      assertThat(given.indexOf('\n')).as("line break inside a slice").isIn(-1, len - 1);
      StringBuilder to = text[connection];
      if (to.isEmpty() || to.charAt(to.length() - 1) == '\n') {
        lines.get(connection).add(dumpLine);
      }
      to.append(given);
    }

    @Override
    public void sync(int connection) {
      text[connection == RowSplitter.MAIN ? RowSplitter.SECOND : RowSplitter.MAIN]
          .append(connection == RowSplitter.MAIN ? "<sync main>\n" : "<sync second>\n");
    }

    String main() {
      return text[RowSplitter.MAIN].toString();
    }

    String second() {
      return text[RowSplitter.SECOND].toString();
    }

    List<Long> dumpLines(int connection) {
      return lines.get(connection);
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Recorded r && main().equals(r.main()) && second().equals(r.second()) && lines.equals(r.lines);
    }

    @Override
    public int hashCode() {
      return main().hashCode();
    }
  }
}
