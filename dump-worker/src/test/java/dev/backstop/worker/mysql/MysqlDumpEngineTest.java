package dev.backstop.worker.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalMariadb;
import dev.backstop.worker.engine.CheckedDump;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.WriteCounter;
import dev.backstop.worker.engine.Scrubber;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class MysqlDumpEngineTest {

  private final MysqlDumpEngine engine = new MysqlDumpEngine("mysqldump", Duration.ofMinutes(2));

  @Test
  void the_command_line_names_the_option_file_first_and_never_the_password() {
    var target = new DumpTarget("db", 3306, "my_app", "u", "se\"cr\\et-91");
    List<String> mysql = engine.command(target, Path.of("/s/my.cnf"), false);
    List<String> mariadb = engine.command(target, Path.of("/s/my.cnf"), true);

    assertThat(mysql.get(1)).isEqualTo("--defaults-extra-file=/s/my.cnf");
    assertThat(mysql).contains("--single-transaction", "--no-tablespaces", "--column-statistics=0",
        "--default-character-set=binary").endsWith("--", "my_app");
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
  void mysqldump_through_stdbuf_reaches_the_worker_in_large_writes_that_restore_the_same_rows(@TempDir Path dir)
      throws Exception {
    OutputBuffer buffer = OutputBuffer.find(64 << 10, System.getenv("PATH"));
    assertThat(buffer.buffers()).as("coreutils' stdbuf on PATH").isTrue();
    var buffered = new MysqlDumpEngine("mysqldump", "mysql", Duration.ofMinutes(2), Duration.ofMinutes(1), buffer);
    String db = LocalMariadb.createDatabase("backstop_unit");
    String restored = LocalMariadb.createDatabase("backstop_unit_restored");
    try {
      LocalMariadb.sql(db, "CREATE TABLE t(id INT PRIMARY KEY, v VARCHAR(64)); "
          + "INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_40000;");
      Path out = dir.resolve("dump.sql");
      var counter = new WriteCounter(Files.newOutputStream(out));
      try (counter) {
        buffered.dump(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, LocalMariadb.USER, ""), counter, dir);
      }

      // written a page at a time, 1.7 MB would take some 400 writes; through a 64 KiB buffer, one per pipe's worth
      assertThat(counter.bytes()).isGreaterThan(1_500_000);
      assertThat(counter.writes()).isLessThanOrEqualTo(counter.bytes() / (16 << 10) + 2);
      // the last line, left in the buffer until mysqldump exits, is written then
      assertThat(Files.readString(out, java.nio.charset.StandardCharsets.ISO_8859_1)).containsPattern("-- Dump completed[^\n]*\n$");
      LocalMariadb.restore(out, restored);
      String fingerprint = "SELECT COUNT(*), MD5(GROUP_CONCAT(id, v ORDER BY id)) FROM t";
      assertThat(LocalMariadb.sql(restored, fingerprint)).isEqualTo(LocalMariadb.sql(db, fingerprint));
    } finally {
      LocalMariadb.dropDatabase(db);
      LocalMariadb.dropDatabase(restored);
    }
    assertThatThrownBy(() -> buffered.dump(
        new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "mysql", LocalMariadb.USER, "not-the-password-73"), java.io.OutputStream.nullOutputStream(), dir))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("Access denied")
        .hasMessageNotContaining("not-the-password-73");
  }

  @Test
  void a_wrong_password_fails_with_the_servers_reason_and_not_the_password(@TempDir Path dir) {
    assertThatThrownBy(() -> engine.dump(
        new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "mysql", LocalMariadb.USER, "not-the-password-73"), java.io.OutputStream.nullOutputStream(), dir))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("Access denied")
        .hasMessageNotContaining("not-the-password-73");
  }

  /** Every character an option file treats specially, spaces at both ends, and non-ASCII. */
  public static final String HOSTILE_PASSWORD = "  #;=\"'\\: p@ss wörd ✓ ";

  @Test
  void a_password_and_user_full_of_option_file_syntax_reach_the_server_intact(@TempDir Path dir) throws Exception {
    String db = LocalMariadb.createDatabase("backstop_unit");
    // ASCII: mysqldump's binary connection character set sends a user name's bytes as latin1
    String user = "bk u#1;'\"=\\ x";
    String account = "'" + sqlString(user) + "'@'%'";
    try {
      LocalMariadb.sql(db, "CREATE TABLE t(id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
      LocalMariadb.sql(null, "DROP USER IF EXISTS " + account + "; CREATE USER " + account + " IDENTIFIED BY '"
          + sqlString(HOSTILE_PASSWORD) + "'; GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON " + db + ".* TO " + account);
      DumpTarget target = new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, user, HOSTILE_PASSWORD);
      Path out = dir.resolve("dump.sql");
      Integer expected;
      try (var file = Files.newOutputStream(out)) {
        expected = CheckedDump.dump(engine, target, file, dir);
      }

      assertThat(expected).isEqualTo(1);
      assertThat(Files.readString(out, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("CREATE TABLE `t`", "INSERT INTO `t`");
      // and the server did check that password: one character off is refused
      assertThatThrownBy(() -> engine.dump(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, user, HOSTILE_PASSWORD.strip()),
          java.io.OutputStream.nullOutputStream(), dir))
          .hasMessageContaining("Access denied").hasMessageNotContaining("p@ss");
    } finally {
      LocalMariadb.sql(null, "DROP USER IF EXISTS " + account);
      LocalMariadb.dropDatabase(db);
    }
  }

  @Test
  void a_newline_in_a_mysql_password_or_user_cannot_write_an_option() {
    String injected = "x\npassword=real\nresult-file=/tmp/x\n#";
    assertThatThrownBy(() -> new DumpTarget("db", 3306, "my_app", "u", injected))
        .isInstanceOf(dev.backstop.kit.addon.ConnectionValues.InvalidConnectionValue.class)
        .hasMessageContaining("password").hasMessageNotContaining("result-file");
    assertThatThrownBy(() -> new DumpTarget("db", 3306, "my_app", "u\nno-data", "pw"))
        .hasMessageContaining("user").hasMessageNotContaining("no-data");
    assertThatThrownBy(() -> new DumpTarget("db", 3306, "-A", "u", "pw")).hasMessageContaining("database");
    assertThatThrownBy(() -> new DumpTarget("-h", 3306, "my_app", "u", "pw")).hasMessageContaining("host");
  }

  @Test
  void a_database_name_is_never_read_as_an_option_by_mysqldump(@TempDir Path dir) throws Exception {
    // the name after "--" is a name: the real client looks for a database called "-A", not for every database
    Path options = dir.resolve("my.cnf");
    Files.writeString(options, MysqlDumpEngine.optionFile(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "x", LocalMariadb.USER, "")));
    List<String> command = new java.util.ArrayList<>(engine.command(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "x",
        LocalMariadb.USER, ""), options, true));
    command.set(command.size() - 1, "-A");
    var out = new java.io.ByteArrayOutputStream();
    assertThatThrownBy(() -> ExternalCommand.run("mysqldump", Scrubber.hiding(), command, java.util.Map.of(), dir,
        Duration.ofMinutes(1), out))
        .hasMessageContaining("Unknown database '-A'");
    assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("CREATE DATABASE");
  }

  @Test
  void a_dump_that_defines_no_table_of_a_database_that_has_some_fails(@TempDir Path dir) throws Exception {
    String db = LocalMariadb.createDatabase("backstop_unit");
    try {
      LocalMariadb.sql(db, "CREATE TABLE a(id INT); CREATE TABLE b(id INT); CREATE VIEW v AS SELECT * FROM a");
      // a "mysqldump" that succeeds and writes a dump without tables, as one given --no-data-like options would
      Path fake = dir.resolve("fake-mysqldump");
      Files.writeString(fake, "#!/bin/sh\necho '-- MariaDB dump'\n");
      fake.toFile().setExecutable(true);
      var empty = new MysqlDumpEngine(fake.toString(), "mysql", Duration.ofMinutes(1));
      DumpTarget target = new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, LocalMariadb.USER, "");

      assertThat(engine.expectedTables(target, dir)).hasValue(2);
      assertThatThrownBy(() -> CheckedDump.dump(empty, target, java.io.OutputStream.nullOutputStream(), dir))
          .isInstanceOf(DumpFailedException.class)
          .hasMessage("the dump defines no table although the database has 2 tables: it is not a usable backup of that database");
    } finally {
      LocalMariadb.dropDatabase(db);
    }
  }

  @Test
  void what_the_client_quotes_of_a_password_or_the_work_directory_is_left_out_of_the_reason(@TempDir Path dir) throws Exception {
    // an option file written without today's checks: the password's second line became an unknown option
    String password = "first-piece\nnl-two-piece\"";
    Path work = Files.createDirectories(dir.resolve("work"));
    Path scratch = Files.createDirectories(work.resolve("job-1"));
    Path options = scratch.resolve("my.cnf");
    String file = "[client]\nhost=\"" + LocalMariadb.HOST + "\"\nuser=\"" + LocalMariadb.USER + "\"\npassword=\"" + password + "\n";

    assertThatThrownBy(() -> ExternalCommand.runWithSecretFile("mysqldump", options, file, Scrubber.hiding(password),
        List.of("mysqldump", "--defaults-extra-file=" + options, "--protocol=TCP", "--", "mysql"), java.util.Map.of(), scratch,
        Duration.ofMinutes(1), java.io.OutputStream.nullOutputStream()))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("unknown option")
        .hasMessageContaining(Scrubber.HIDDEN)
        .hasMessageNotContaining("nl-two")
        .hasMessageNotContaining("first-piece")
        .hasMessageNotContaining(dir.toString());
  }

  private static String sqlString(String value) {
    return value.replace("\\", "\\\\").replace("'", "''");
  }
}
