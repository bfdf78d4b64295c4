package dev.backstop.worker.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.List;
import java.util.Set;
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
  void a_database_that_does_not_exist_fails_with_that_reason(@TempDir Path dir) {
    var engine = new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1));
    assertThatThrownBy(() -> engine.dump(
        new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "no_such_db_x1", LocalPostgres.USER, "x"), java.io.OutputStream.nullOutputStream(), dir))
        .hasMessageContaining("does not exist");
  }
}
