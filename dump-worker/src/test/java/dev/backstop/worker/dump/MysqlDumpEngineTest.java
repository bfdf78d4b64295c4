package dev.backstop.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalMariadb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MysqlDumpEngineTest {

  private final MysqlDumpEngine engine = new MysqlDumpEngine("mysqldump", Duration.ofMinutes(2));

  @Test
  void the_command_line_names_the_option_file_first_and_never_the_password() {
    var target = new DumpTarget("db", 3306, "my_app", "u", "se\"cr\\et-91");
    List<String> mysql = engine.command(target, Path.of("/s/my.cnf"), false);
    List<String> mariadb = engine.command(target, Path.of("/s/my.cnf"), true);

    assertThat(mysql.get(1)).isEqualTo("--defaults-extra-file=/s/my.cnf");
    assertThat(mysql).contains("--single-transaction", "--no-tablespaces", "--column-statistics=0",
        "--default-character-set=binary").endsWith("my_app");
    assertThat(mariadb).doesNotContain("--column-statistics=0");
    assertThat(String.join(" ", mysql)).doesNotContain("cr\\et");
    assertThat(MysqlDumpEngine.optionFile(target)).contains("password=\"se\\\"cr\\\\et-91\"");
  }

  @Test
  void a_real_database_dumps_to_sql_that_the_mysql_client_restores_with_the_same_rows(@TempDir Path dir) throws Exception {
    String db = LocalMariadb.createDatabase("backstop_unit");
    String restored = LocalMariadb.createDatabase("backstop_unit_restored");
    try {
      LocalMariadb.sql(db, "CREATE TABLE t(id INT PRIMARY KEY, v VARCHAR(64)); "
          + "INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_2000;");
      // text in two character sets and raw bytes, written as hex so the client's own charset plays no part:
      // the dump's binary connection must bring back every stored byte (CJK, an emoji, quotes, NUL, backslash)
      LocalMariadb.sql(db, "CREATE TABLE m(id INT PRIMARY KEY, u VARCHAR(32) CHARACTER SET utf8mb4, "
          + "l VARCHAR(32) CHARACTER SET latin1, b BLOB); "
          + "INSERT INTO m VALUES (1, CONVERT(X'E697A5E69CACF09F98800A275C' USING utf8mb4), CONVERT(X'E927225C' USING latin1), "
          + "X'00275C0A0DFF1A22'), (2, CONVERT(X'636166C3A9' USING utf8mb4), CONVERT(X'636166E9' USING latin1), NULL);");
      Path out = dir.resolve("dump.sql");
      try (var file = Files.newOutputStream(out)) {
        engine.dump(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, LocalMariadb.USER, ""), file, dir);
      }

      assertThat(Files.readString(out, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("CREATE TABLE `t`", "SET NAMES binary");
      assertThat(dir.resolve("my.cnf")).doesNotExist();
      LocalMariadb.restore(out, restored);
      String fingerprint = "SELECT COUNT(*), MD5(GROUP_CONCAT(id, v ORDER BY id)) FROM t";
      assertThat(LocalMariadb.sql(restored, fingerprint)).isEqualTo(LocalMariadb.sql(db, fingerprint));
      String bytes = "SELECT GROUP_CONCAT(id, ':', HEX(u), ':', HEX(l), ':', IFNULL(HEX(b), '-') ORDER BY id) FROM m";
      assertThat(LocalMariadb.sql(restored, bytes)).isEqualTo(LocalMariadb.sql(db, bytes))
          .isEqualTo("1:E697A5E69CACF09F98800A275C:E927225C:00275C0A0DFF1A22,2:636166C3A9:636166E9:-");
    } finally {
      LocalMariadb.dropDatabase(db);
      LocalMariadb.dropDatabase(restored);
    }
  }

  @Test
  void a_wrong_password_fails_with_the_servers_reason_and_not_the_password(@TempDir Path dir) {
    assertThatThrownBy(() -> engine.dump(
        new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "mysql", LocalMariadb.USER, "not-the-password-73"), java.io.OutputStream.nullOutputStream(), dir))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("Access denied")
        .hasMessageNotContaining("not-the-password-73");
  }
}
