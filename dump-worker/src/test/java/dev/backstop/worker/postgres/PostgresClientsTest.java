package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalPostgres;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.CheckedDump;
import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.RestoreEngine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which pg_dump, pg_basebackup and pg_restore run: chosen in a made-up tree of client folders (as Debian lays them out)
 * and configured programs of made-up versions; then once for real, with this machine's clients against
 * the suite's own server.
 */
class PostgresClientsTest {

  @TempDir Path root;

  /** {@code root/<major>/bin/<tool>} for each major, executable, as postgresql-client-<major> installs them. */
  private String tree(Map<Integer, String[]> tools) throws IOException {
    for (var entry : tools.entrySet()) {
      Path bin = Files.createDirectories(root.resolve(entry.getKey() + "/bin"));
      for (String tool : entry.getValue()) {
        Path program = bin.resolve(tool);
        Files.writeString(program, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
    return root + "/{major}/bin";
  }

  private static final String[] BOTH = {"pg_dump", "pg_restore"};

  /** The configured programs (on PATH) are of these majors; any other program cannot be run. */
  private static PostgresClients.VersionProbe path(Map<String, Integer> majors) {
    return program -> majors.containsKey(program) ? OptionalInt.of(majors.get(program)) : OptionalInt.empty();
  }

  @Test
  void a_server_gets_its_own_majors_pg_dump_when_installed() throws Exception {
    String template = tree(Map.of(15, BOTH, 16, BOTH, 17, BOTH));
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of("pg_dump", 17)));

    assertThat(clients.pgDump(16)).isEqualTo(root + "/16/bin/pg_dump");
    assertThat(clients.pgDump(15)).isEqualTo(root + "/15/bin/pg_dump");
  }

  @Test
  void a_server_whose_major_is_missing_gets_the_newest_newer_pg_dump() throws Exception {
    String template = tree(Map.of(15, BOTH, 17, BOTH));
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of()));

    assertThat(clients.pgDump(16)).isEqualTo(root + "/17/bin/pg_dump");
    assertThat(clients.pgDump(13)).isEqualTo(root + "/17/bin/pg_dump");
  }

  @Test
  void a_server_newer_than_every_client_fails_naming_what_is_there() throws Exception {
    String template = tree(Map.of(15, BOTH, 16, new String[] {"pg_restore"}));
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of("pg_dump", 15)));

    assertThatThrownBy(() -> clients.pgDump(17)).isInstanceOf(PostgresClients.ClientMissingException.class)
        .hasMessage("pg_dump for PostgreSQL 17 not installed on this worker: found 15");
  }

  @Test
  void the_pg_dump_on_path_serves_only_when_its_version_qualifies() throws Exception {
    String template = tree(Map.of(15, BOTH));
    var newerOnPath = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of("pg_dump", 17)));
    assertThat(newerOnPath.pgDump(17)).isEqualTo("pg_dump");
    assertThat(newerOnPath.pgDump(16)).isEqualTo("pg_dump");
    assertThat(newerOnPath.pgDump(15)).isEqualTo(root + "/15/bin/pg_dump");

    var olderOnPath = PostgresClients.byVersion(root.resolve("nothing-here") + "/{major}/bin", "pg_dump", "pg_restore",
        path(Map.of("pg_dump", 15)));
    assertThatThrownBy(() -> olderOnPath.pgDump(16)).hasMessage("pg_dump for PostgreSQL 16 not installed on this worker: found 15");

    var noneAtAll = PostgresClients.byVersion(root.resolve("nothing-here") + "/{major}/bin", "pg_dump", "pg_restore", path(Map.of()));
    assertThatThrownBy(() -> noneAtAll.pgDump(15)).hasMessage("pg_dump for PostgreSQL 15 not installed on this worker: found none");
  }

  @Test
  void pg_basebackup_is_chosen_as_pg_dump_is_and_a_server_newer_than_all_fails_naming_what_is_there() throws Exception {
    String template = tree(Map.of(13, new String[] {"pg_basebackup"}, 15, new String[] {"pg_basebackup"},
        16, BOTH, 17, new String[] {"pg_basebackup"})); // 16 without its pg_basebackup
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of()));

    assertThat(clients.pgBasebackup(15)).isEqualTo(root + "/15/bin/pg_basebackup");
    assertThat(clients.pgBasebackup(16)).isEqualTo(root + "/17/bin/pg_basebackup");
    assertThat(clients.pgBasebackup(14)).isEqualTo(root + "/17/bin/pg_basebackup");
    assertThatThrownBy(() -> clients.pgBasebackup(18)).isInstanceOf(PostgresClients.ClientMissingException.class)
        .hasMessage("pg_basebackup for PostgreSQL 18 not installed on this worker: found 13, 15, 17");
  }

  @Test
  void the_pg_basebackup_on_path_serves_servers_up_to_its_own_major() throws Exception {
    var clients = PostgresClients.byVersion(root.resolve("nothing-here") + "/{major}/bin", "pg_dump", "pg_restore",
        path(Map.of("pg_basebackup", 16)));
    assertThat(clients.pgBasebackup(16)).isEqualTo("pg_basebackup");
    assertThat(clients.pgBasebackup(14)).isEqualTo("pg_basebackup");
    assertThatThrownBy(() -> clients.pgBasebackup(17))
        .hasMessage("pg_basebackup for PostgreSQL 17 not installed on this worker: found 16");
  }

  @Test
  void without_per_major_folders_this_machines_pg_basebackup_on_path_serves_up_to_its_own_major() throws Exception {
    var clients = PostgresClients.byVersion(root.resolve("nothing-here") + "/{major}/bin", "pg_dump", "pg_restore");
    Process version = new ProcessBuilder("pg_basebackup", "--version").redirectErrorStream(true).start();
    int installed = PostgresClients.parseVersion(new String(version.getInputStream().readAllBytes())).orElseThrow();
    version.waitFor();

    assertThat(clients.pgBasebackup(installed)).isEqualTo("pg_basebackup");
    assertThatThrownBy(() -> clients.pgBasebackup(installed + 1)).isInstanceOf(PostgresClients.ClientMissingException.class)
        .hasMessage("pg_basebackup for PostgreSQL " + (installed + 1) + " not installed on this worker: found " + installed);
  }

  @Test
  void folders_that_are_not_a_major_and_programs_that_cannot_run_are_not_clients() throws Exception {
    String template = tree(Map.of(15, BOTH));
    Files.createDirectories(root.resolve("common/bin"));
    Files.writeString(root.resolve("common/bin/pg_dump"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(root.resolve("common/bin/pg_dump"), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createDirectories(root.resolve("17/bin"));
    Files.writeString(root.resolve("17/bin/pg_dump"), "not executable");
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of()));

    assertThat(clients.installed("pg_dump")).containsOnlyKeys(15);
    assertThatThrownBy(() -> clients.pgDump(17)).hasMessageEndingWith("found 15");
  }

  @Test
  void a_restore_takes_the_newest_pg_restore_if_it_reads_the_dump() throws Exception {
    String template = tree(Map.of(15, BOTH, 16, BOTH));
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of("pg_restore", 15)));

    assertThat(clients.pgRestore(12)).isEqualTo(root + "/16/bin/pg_restore");
    assertThat(clients.pgRestore(0)).isEqualTo(root + "/16/bin/pg_restore");
    assertThatThrownBy(() -> clients.pgRestore(17))
        .hasMessage("pg_restore for dumps of PostgreSQL 17 not installed on this worker: found 15, 16");
  }

  @Test
  void psql_by_its_bare_name_is_the_newest_installed_and_a_configured_path_is_kept() throws Exception {
    String template = tree(Map.of(15, new String[] {"pg_dump", "psql"}, 16, new String[] {"psql"}, 17, BOTH));
    var clients = PostgresClients.byVersion(template, "pg_dump", "pg_restore", path(Map.of()));

    // not Debian's wrapper on PATH, which would start that same newest one after a Perl start-up of its own
    assertThat(clients.psql("psql")).isEqualTo(root + "/16/bin/psql");
    assertThat(clients.psql("/opt/pg/bin/psql")).isEqualTo("/opt/pg/bin/psql");
    Files.createDirectories(root.resolve("no-psql/15/bin"));
    assertThat(PostgresClients.byVersion(root + "/no-psql/{major}/bin", "pg_dump", "pg_restore", path(Map.of())).psql("psql"))
        .isEqualTo("psql");
    assertThat(PostgresClients.fixed("pg_dump", "pg_restore").psql("psql")).isEqualTo("psql");
  }

  @Test
  void a_dumps_header_tells_the_pg_restore_it_needs() {
    assertThat(PostgresClients.restoreMajorFor(header(1, 14))).isEqualTo(12);
    assertThat(PostgresClients.restoreMajorFor(header(1, 15))).isEqualTo(16);
    assertThat(PostgresClients.restoreMajorFor(header(1, 16))).isEqualTo(17);
    assertThat(PostgresClients.restoreMajorFor(header(1, 17))).isEqualTo(18);
    assertThat(PostgresClients.restoreMajorFor(header(1, 13))).isZero();
    assertThat(PostgresClients.restoreMajorFor("-- plain SQL".getBytes())).isZero();
  }

  private static byte[] header(int major, int minor) {
    return new byte[] {'P', 'G', 'D', 'M', 'P', (byte) major, (byte) minor, 0};
  }

  @Test
  void versions_are_read_as_the_tools_and_the_server_print_them() {
    assertThat(PostgresClients.parseVersion("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n")).hasValue(15);
    assertThat(PostgresClients.parseVersion("pg_dump (PostgreSQL) 17.2\n")).hasValue(17);
    assertThat(PostgresClients.parseVersion("mysqldump  Ver 10.19")).isEmpty();
    assertThat(PostgresClients.majorOf("150020")).isEqualTo(15);
    assertThat(PostgresClients.majorOf("170002\n")).isEqualTo(17);
    assertThat(PostgresClients.majorOf("90624")).isEqualTo(9);
  }

  @Test
  void a_client_directory_without_a_major_folder_is_refused_at_start_up() {
    assertThat(WorkerProperties.bind(Map.of()).pgClientDirectory()).isEqualTo("/usr/lib/postgresql/{major}/bin");
    try (var validation = jakarta.validation.Validation.buildDefaultValidatorFactory()) {
      assertThat(validation.getValidator().validate(WorkerProperties.bind(Map.of("pg-client-directory", "/usr/lib/postgresql/bin"))))
          .extracting(v -> v.getPropertyPath().toString()).containsExactly("pgClientDirectory");
    }
    assertThatThrownBy(() -> PostgresClients.byVersion("/opt/pg{major}/bin", "pg_dump", "pg_restore"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("{major}");
  }

  @Test
  void a_newer_server_than_the_clients_fails_the_dump_before_pg_dump_runs(@TempDir Path scratch) throws Exception {
    // this machine's clients, and a server that says it is of a major none of them is
    var engine = new PostgresDumpEngine(PostgresClients.byVersion("/usr/lib/postgresql/{major}/bin", "pg_dump", "pg_restore",
        path(Map.of())), "psql", Duration.ofMinutes(1), Duration.ofSeconds(15)) {
      @Override
      int serverMajor(DumpTarget target, Path work) {
        return 99;
      }
    };
    assertThatThrownBy(() -> engine.dump(new DumpTarget("127.0.0.1", 1, "db", "u", "pw"), java.io.OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageStartingWith("pg_dump for PostgreSQL 99 not installed on this worker: found ");
  }

  @Test
  void with_this_machines_clients_a_dump_runs_the_servers_own_pg_dump_and_restores(@TempDir Path scratch) throws Exception {
    var clients = PostgresClients.byVersion("/usr/lib/postgresql/{major}/bin", "pg_dump", "pg_restore");
    String db = LocalPostgres.createDatabase("backstop_clients");
    try {
      LocalPostgres.psql(db, "create table t (id int primary key); insert into t select generate_series(1, 3)");
      DumpTarget target = new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, "");
      var engine = new PostgresDumpEngine(clients, "psql", Duration.ofMinutes(1), Duration.ofSeconds(15));

      int major = engine.serverMajor(target, scratch);
      assertThat(major).isEqualTo(Integer.parseInt(LocalPostgres.psql(db, "show server_version_num")) / 10000);
      assertThat(clients.pgDump(major)).isEqualTo("/usr/lib/postgresql/" + major + "/bin/pg_dump");

      ByteArrayOutputStream dump = new ByteArrayOutputStream();
      engine.dump(target, dump, scratch);
      assertThat(PostgresClients.restoreMajorFor(dump.toByteArray())).isBetween(1, major);

      var restorer = new PostgresRestoreEngine("psql", clients,
          new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, ""), Duration.ofMinutes(1));
      assertThat(restorer.restore("backstop_verify_clients", new ByteArrayInputStream(dump.toByteArray()), scratch))
          .isEqualTo(new RestoreEngine.Restored(1, 3));
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }

  @Test
  void a_checked_dump_starts_psql_once_and_runs_the_pg_dump_of_the_version_that_psql_read(@TempDir Path scratch) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_clients");
    try {
      LocalPostgres.psql(db, "create table t (id int primary key); insert into t select generate_series(1, 3); create table u (id int)");
      int version = Integer.parseInt(LocalPostgres.psql(db, "show server_version_num"));
      int major = version / 10000;
      String real = PostgresClients.byVersion("/usr/lib/postgresql/{major}/bin", "pg_dump", "pg_restore").pgDump(major);
      // each program notes its start in one file: the server's major runs the real pg_dump, the next major's refuses
      Path starts = scratch.resolve("starts");
      Path psql = scratch.resolve("psql");
      Files.writeString(psql, "#!/bin/sh\necho psql >> " + starts + "\nexec psql \"$@\"\n");
      Files.createDirectories(scratch.resolve("clients/" + major + "/bin"));
      Files.createDirectories(scratch.resolve("clients/" + (major + 1) + "/bin"));
      Path pgDump = scratch.resolve("clients/" + major + "/bin/pg_dump");
      Files.writeString(pgDump, "#!/bin/sh\necho pg_dump " + major + " >> " + starts + "\nexec " + real + " \"$@\"\n");
      Path other = scratch.resolve("clients/" + (major + 1) + "/bin/pg_dump");
      Files.writeString(other, "#!/bin/sh\necho pg_dump " + (major + 1) + " >> " + starts + "\nexit 3\n");
      for (Path program : new Path[] {psql, pgDump, other}) {
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
      }
      var clients = PostgresClients.byVersion(scratch + "/clients/{major}/bin", "pg_dump", "pg_restore", path(Map.of()));
      var engine = new PostgresDumpEngine(clients, psql.toString(), Duration.ofMinutes(1), Duration.ofSeconds(15));
      DumpTarget target = new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, "");
      Path work = Files.createDirectory(scratch.resolve("work"));

      assertThat(engine.preflight(target, work))
          .isEqualTo(new DumpEngine.Preflight(OptionalInt.of(2), OptionalInt.of(version)));
      Files.delete(starts);
      ByteArrayOutputStream dump = new ByteArrayOutputStream();
      assertThat(CheckedDump.dump(engine, target, dump, work)).isEqualTo(2);

      assertThat(Files.readAllLines(starts)).containsExactly("psql", "pg_dump " + major);
      var restorer = new PostgresRestoreEngine("psql", PostgresClients.byVersion("/usr/lib/postgresql/{major}/bin", "pg_dump", "pg_restore"),
          new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, ""), Duration.ofMinutes(1));
      assertThat(restorer.restore("backstop_verify_clients_once", new ByteArrayInputStream(dump.toByteArray()), work))
          .isEqualTo(new RestoreEngine.Restored(2, 3));
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }
}
