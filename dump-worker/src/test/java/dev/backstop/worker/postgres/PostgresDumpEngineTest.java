package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalPostgres;
import dev.backstop.worker.engine.CheckedDump;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.WriteCounter;
import dev.backstop.worker.mysql.MysqlDumpEngineTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresDumpEngineTest {

  private static final String PASSWORD = "pa:ss\\word-7f3";

  @Test
  void the_command_line_has_the_reference_options_and_never_the_password() {
    var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
    List<String> command = engine.command(new DumpTarget("db.internal", 5432, "my_app_4553", "my_app", PASSWORD));

    assertThat(String.join(" ", command)).contains(
        "--clean --if-exists --format c --compress 0 --no-owner --no-privileges --no-comments --exclude-schema information_schema --exclude-schema ^pg_*");
    assertThat(command).noneMatch(arg -> arg.contains("pa:ss") || arg.contains("word-7f3"));
  }

  @Test
  void the_password_reaches_pg_dump_through_a_private_pgpass_file_removed_afterwards(@TempDir Path dir) throws Exception {
    Path spy = dir.resolve("fake-pg_dump");
    Path seen = dir.resolve("seen");
    Files.writeString(spy, "#!/bin/sh\n{ echo \"$@\"; stat -c %a \"$PGPASSFILE\"; cat \"$PGPASSFILE\"; } > " + seen + "\n");
    spy.toFile().setExecutable(true);
    Path scratch = Files.createDirectory(dir.resolve("scratch"));

    new PostgresDumpEngine(spy.toString(), Duration.ofMinutes(1))
        .dump(new DumpTarget("127.0.0.1", 5432, "db", "u", PASSWORD), java.io.OutputStream.nullOutputStream(), scratch);

    List<String> lines = Files.readAllLines(seen);
    assertThat(lines.get(0)).doesNotContain("word-7f3");
    assertThat(lines.get(1)).isEqualTo("600");
    assertThat(lines.get(2)).isEqualTo("127.0.0.1:5432:db:u:pa\\:ss\\\\word-7f3");
    assertThat(scratch.resolve("pgpass")).doesNotExist();
  }

  @Test
  void a_refused_connection_fails_with_the_server_message(@TempDir Path dir) {
    var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
    assertThatThrownBy(() -> engine.dump(new DumpTarget("127.0.0.1", 1, "db", "u", PASSWORD), java.io.OutputStream.nullOutputStream(), dir))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageStartingWith("pg_dump failed (exit 1)")
        .hasMessageContaining("Connection refused")
        .hasMessageNotContaining("word-7f3");
  }

  @Test
  void a_real_database_streams_an_uncompressed_custom_format_dump_pg_restore_reads(@TempDir Path dir) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_unit");
    try {
      LocalPostgres.psql(db, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1,100) g");
      Path out = dir.resolve("dump");
      try (var file = Files.newOutputStream(out)) {
        new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1))
            .dump(new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, "unused"), file, dir);
      }

      assertThat(Files.readAllBytes(out)).startsWith("PGDMP".getBytes());
      assertThat(LocalPostgres.run(List.of("pg_restore", "--list", out.toString()))).contains("TABLE public t");
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }

  @Test
  void pg_dump_through_stdbuf_reaches_the_worker_in_large_writes_with_the_same_data_and_the_same_failures(@TempDir Path dir)
      throws Exception {
    OutputBuffer buffer = OutputBuffer.find(64 << 10, System.getenv("PATH"));
    assertThat(buffer.buffers()).as("coreutils' stdbuf on PATH").isTrue();
    var buffered = new PostgresDumpEngine(PostgresClients.fixed("pg_dump", "pg_restore"), "psql", Duration.ofMinutes(1),
        Duration.ofSeconds(15), Duration.ofMinutes(1), buffer);
    String db = LocalPostgres.createDatabase("backstop_unit");
    try {
      LocalPostgres.psql(db, "CREATE TABLE t(id int primary key, v text); "
          + "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 60000) g");
      DumpTarget target = new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, "unused");
      Path plain = dir.resolve("plain.dump");
      try (var file = Files.newOutputStream(plain)) {
        new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1)).dump(target, file, dir);
      }
      Path out = dir.resolve("buffered.dump");
      var counter = new WriteCounter(Files.newOutputStream(out));
      try (counter) {
        buffered.dump(target, counter, dir);
      }

      // written a page at a time, 2.5 MB would take some 600 writes; through a 64 KiB buffer, one per pipe's worth
      assertThat(counter.bytes()).isGreaterThan(2_000_000);
      assertThat(counter.writes()).isLessThanOrEqualTo(counter.bytes() / (16 << 10) + 2);
      assertThat(dataOf(out)).contains("60000\t").isEqualTo(dataOf(plain));
    } finally {
      LocalPostgres.dropDatabase(db);
    }
    assertThatThrownBy(() -> buffered.dump(new DumpTarget("127.0.0.1", 1, "db", "u", PASSWORD), java.io.OutputStream.nullOutputStream(), dir))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageStartingWith("pg_dump failed (exit 1)")
        .hasMessageContaining("Connection refused")
        .hasMessageNotContaining("word-7f3");
  }

  /** The rows a dump holds, as pg_restore writes them out; without the random key of its {@code \restrict} lines. */
  private static String dataOf(Path dump) {
    return LocalPostgres.run(List.of("pg_restore", "--data-only", "--file", "-", dump.toString())).lines()
        .filter(line -> !line.startsWith("\\restrict") && !line.startsWith("\\unrestrict"))
        .collect(java.util.stream.Collectors.joining("\n"));
  }

  @Test
  void a_database_that_does_not_exist_fails_with_that_reason(@TempDir Path dir) {
    var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
    assertThatThrownBy(() -> engine.dump(
        new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "no_such_db_x1", LocalPostgres.USER, "x"), java.io.OutputStream.nullOutputStream(), dir))
        .hasMessageContaining("does not exist");
  }

  @Test
  void a_password_and_user_full_of_pgpass_syntax_reach_a_server_that_checks_them(@TempDir Path dir) throws Exception {
    String password = MysqlDumpEngineTest.HOSTILE_PASSWORD + "\\:*";
    String user = "bk:u#1 \\ é";
    try (var cluster = dev.backstop.testing.PostgresCluster.primary(freePort()).requirePasswords()) {
      cluster.psql("postgres", "create role \"" + user + "\" login password '" + password.replace("'", "''") + "'");
      cluster.psql("postgres", "create database hostile_db owner \"" + user + "\"");
      cluster.psql("hostile_db", "create table t(id int primary key); insert into t values (1), (2);"
          + " alter table t owner to \"" + user + "\"");
      var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
      DumpTarget target = new DumpTarget("127.0.0.1", cluster.port(), "hostile_db", user, password);
      Path out = dir.resolve("dump");
      Integer expected;
      try (var file = Files.newOutputStream(out)) {
        expected = CheckedDump.dump(engine, target, file, dir);
      }

      assertThat(expected).isEqualTo(1);
      assertThat(LocalPostgres.run(List.of("pg_restore", "--list", out.toString()))).contains("TABLE public t");
      // the server did check it: the same password without its last character is refused, and the
      // reason names neither the password nor the private file it came from
      Path work = Files.createDirectories(dir.resolve("work"));
      Path scratch = Files.createDirectories(work.resolve("job-2"));
      assertThatThrownBy(() -> engine.dump(new DumpTarget("127.0.0.1", cluster.port(), "hostile_db", user,
          password.substring(0, password.length() - 1)), java.io.OutputStream.nullOutputStream(), scratch))
          .isInstanceOf(DumpFailedException.class)
          .hasMessageContaining("password authentication failed")
          .hasMessageNotContaining("p@ss")
          .hasMessageNotContaining(work.toString());
    }
  }

  @Test
  void the_tables_a_dump_must_define_are_counted_partitions_once_and_views_not(@TempDir Path dir) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_unit");
    try {
      LocalPostgres.psql(db, "create table t(id int); create view v as select * from t;"
          + " create table p(id int) partition by range (id);"
          + " create table p1 partition of p for values from (0) to (10); create table p2 partition of p for values from (10) to (20);"
          + " create schema other; create table other.o(id int)");
      var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
      assertThat(engine.expectedTables(new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, ""), dir))
          .hasValue(4);
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }

  @Test
  void a_dump_that_defines_no_table_of_a_database_that_has_some_fails(@TempDir Path dir) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_unit");
    String empty = LocalPostgres.createDatabase("backstop_unit_empty");
    try {
      LocalPostgres.psql(db, "create table t(id int)");
      // a "pg_dump" that succeeds with a real dump of another, empty database
      Path fake = dir.resolve("fake-pg_dump");
      Files.writeString(fake, "#!/bin/sh\nexec pg_dump -Fc -h " + LocalPostgres.HOST + " -p " + LocalPostgres.PORT + " -U "
          + LocalPostgres.USER + " " + empty + "\n");
      fake.toFile().setExecutable(true);
      DumpTarget target = new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, "");

      assertThatThrownBy(() -> CheckedDump.dump(new PostgresDumpEngine(fake.toString(), Duration.ofMinutes(1)), target,
          java.io.OutputStream.nullOutputStream(), dir))
          .isInstanceOf(DumpFailedException.class)
          .hasMessageStartingWith("the dump defines no table although the database has 1 table");
      var out = new java.io.ByteArrayOutputStream();
      assertThat(CheckedDump.dump(new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1)), target, out, dir)).isEqualTo(1);
    } finally {
      LocalPostgres.dropDatabase(db);
      LocalPostgres.dropDatabase(empty);
    }
  }

  private static int freePort() throws java.io.IOException {
    try (var socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
