package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.testing.LocalMariadb;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.worker.mysql.MysqlDumpEngine;
import dev.backstop.worker.mysql.MysqlRestoreEngine;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresRestoreEngine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Restores real dumps into the machine's PostgreSQL and MariaDB, as the restore test of every backup does. */
class RestoreEngineTest {

  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path scratch;

  private final PostgresRestoreEngine postgres = new PostgresRestoreEngine("psql", "pg_restore",
      new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, ""), TIMEOUT);
  private final MysqlRestoreEngine mariadb = new MysqlRestoreEngine("mysql",
      new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "", LocalMariadb.USER, ""), TIMEOUT);
  private final MysqlRestoreEngine mariadbOneConnection = new MysqlRestoreEngine("mysql",
      new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, "", LocalMariadb.USER, ""), TIMEOUT, 1);

  @Test
  void a_postgresql_dump_restores_into_a_scratch_database_that_is_dropped_afterwards() throws Exception {
    byte[] dump = pgDumpOf("create table orders (id int primary key, note text); create schema shop;"
        + " create table shop.items (id int); insert into orders select g, md5(g::text) from generate_series(1, 1500) g;"
        + " insert into shop.items select generate_series(1, 42); create view big_orders as select * from orders where id > 1000;"
        // a partitioned table counts by its partitions, not twice
        + " create table events (id int, at date) partition by range (at);"
        + " create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');"
        + " create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01');"
        + " insert into events select g, date '2025-12-25' + g from generate_series(1, 10) g");

    var restored = postgres.restore("backstop_verify_unit_pg", new ByteArrayInputStream(dump), scratch);

    assertThat(restored).isEqualTo(new RestoreEngine.Restored(4, 1552));
    assertNoPostgresDatabase("backstop_verify_unit_pg");
    assertThat(postgres.serverName(scratch)).matches("PostgreSQL \\d+\\.\\d+");
  }

  @Test
  void the_dumps_own_code_runs_as_a_role_of_its_own_never_as_the_scratch_servers_administrator() throws Exception {
    String asAdmin = LocalPostgres.createDatabase("backstop_restore_admin");
    try {
      // a check constraint calls the customer's function for every row the restore loads
      byte[] dump = pgDumpOf("create function harmless() returns boolean language sql as 'select true';"
          + " create table t (id int check (harmless())); insert into t values (1), (2);"
          + " create or replace function harmless() returns boolean language plpgsql as $$ begin"
          + "   if (select rolsuper from pg_roles where rolname = current_user) then raise exception 'ran as a superuser'; end if;"
          + "   return true; end $$");
      assertFailsRestoredAsAdministrator(dump, asAdmin, "ran as a superuser");

      var restored = postgres.restore("backstop_verify_unit_role", new ByteArrayInputStream(dump), scratch);

      assertThat(restored).isEqualTo(new RestoreEngine.Restored(1, 2));
      assertThat(LocalPostgres.psql("postgres", "select count(*) from pg_roles where rolname = 'backstop_verify_unit_role'"))
          .isEqualTo("0");
    } finally {
      LocalPostgres.dropDatabase(asAdmin);
    }
  }

  @Test
  void a_truncated_postgresql_dump_fails_with_pg_restores_reason_and_leaves_nothing_behind() throws Exception {
    byte[] dump = pgDumpOf("create table orders (id int, note text); insert into orders select g, md5(g::text) from generate_series(1, 20000) g");
    byte[] truncated = Arrays.copyOf(dump, dump.length / 2);

    assertThatThrownBy(() -> postgres.restore("backstop_verify_unit_pg2", new ByteArrayInputStream(truncated), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageStartingWith("pg_restore failed (exit 1)");
    assertNoPostgresDatabase("backstop_verify_unit_pg2");
  }

  @Test
  void a_dump_that_cannot_be_read_stops_the_restore_with_the_read_error() throws Exception {
    InputStream broken = new InputStream() {
      private int served;

      @Override
      public int read() throws IOException {
        if (served++ > 10) {
          throw new IOException("segment 3 failed authentication");
        }
        return 'P';
      }
    };
    assertThatThrownBy(() -> postgres.restore("backstop_verify_unit_pg3", broken, scratch))
        .isInstanceOf(IOException.class)
        .hasMessage("segment 3 failed authentication");
    // the test's role and database were made while the dump spooled: both are gone, and so is the spool
    assertNoPostgresDatabase("backstop_verify_unit_pg3");
    assertThat(LocalPostgres.psql("postgres", "select count(*) from pg_roles where rolname = 'backstop_verify_unit_pg3'"))
        .isEqualTo("0");
    assertThat(scratch.resolve("dump.pgdump")).doesNotExist();
  }

  @Test
  void a_dump_whose_reading_fails_while_its_rows_load_stops_the_restore_with_the_read_error() throws Exception {
    byte[] dump = pgDumpOf("create table orders (id int, note text); insert into orders select g, md5(g::text) from generate_series(1, 20000) g");
    InputStream failingMidway = new ChunkedInputStream() {
      private int served;

      @Override
      protected int readChunk(byte[] b, int off, int len) throws IOException {
        if (served >= dump.length / 2) {
          throw new IOException("segment 3 failed authentication");
        }
        int n = Math.min(len, dump.length / 2 - served);
        System.arraycopy(dump, served, b, off, n);
        served += n;
        return n;
      }
    };

    // the schema is restored from the head, the rows stream: the read error is the store's, not the dump's
    assertThatThrownBy(() -> postgres.restore("backstop_verify_unit_pg5", failingMidway, scratch))
        .isInstanceOf(IOException.class)
        .hasMessage("segment 3 failed authentication");
    assertNoPostgresDatabase("backstop_verify_unit_pg5");
    assertThat(scratch.resolve("head.pgdump")).doesNotExist();
  }

  @Test
  void a_spooled_dump_restores_over_two_connections_with_its_session_settings_and_falls_back_to_one_stream_when_disk_is_short()
      throws Exception {
    String db = LocalPostgres.createDatabase("backstop_restore_src");
    String asAdmin = LocalPostgres.createDatabase("backstop_restore_admin");
    try {
      // the customer's check runs for each row the restore loads: it sees the restore's session settings and
      // how many connections restore this database (pg_restore --jobs 2: two; a pipe: one)
      LocalPostgres.psql(db, "create function observed() returns boolean language sql as 'select true';"
          + " create table a (id int check (observed())); create table b (id int check (observed()));"
          + " insert into a values (1); insert into b select generate_series(1, 100000);"
          + " create or replace function observed() returns boolean language plpgsql as $$"
          + " declare connections int; begin"
          + "   if current_setting('synchronous_commit') <> 'off' or current_setting('maintenance_work_mem') <> '77MB' then"
          + "     raise exception 'session settings: synchronous_commit %, maintenance_work_mem %',"
          + "       current_setting('synchronous_commit'), current_setting('maintenance_work_mem'); end if;"
          // the second worker may still be connecting when the first starts loading: wait for it, briefly
          // (once seen, the other may be done first: each connection's rows end when the dump's do)
          + "   if current_setting('backstop.connections_seen', true) = '2' then return true; end if;"
          + "   for i in 1..20 loop perform pg_stat_clear_snapshot();"
          + "     select count(*) into connections from pg_stat_activity where datname = current_database();"
          + "     exit when connections >= 2; perform pg_sleep(0.05); end loop;"
          + "   if connections < 2 then raise exception 'restored over % connection(s)', connections; end if;"
          + "   perform set_config('backstop.connections_seen', '2', false);"
          + "   return true; end $$");
      byte[] dump = pgDump(db);
      assertFailsRestoredAsAdministrator(dump, asAdmin, "session settings");
      DumpTarget admin = new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, "");

      var spooled = new PostgresRestoreEngine("psql", "pg_restore", admin, TIMEOUT,
          new PostgresRestoreEngine.Tuning(2, 0, 77L << 20));
      assertThat(spooled.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(dump), scratch))
          .isEqualTo(new RestoreEngine.Restored(2, 100001));

      var streamed = new PostgresRestoreEngine("psql", "pg_restore", admin, TIMEOUT,
          new PostgresRestoreEngine.Tuning(1, 0, 77L << 20));
      assertThatThrownBy(() -> streamed.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(dump), scratch))
          .isInstanceOf(DumpFailedException.class).hasMessageContaining("restored over 1 connection(s)");

      // no disk to spare: the dump is not spooled at all, only its head is written (the schema), and its rows are
      // still dealt out to two connections as they are read
      var diskShort = new PostgresRestoreEngine("psql", "pg_restore", admin, TIMEOUT,
          new PostgresRestoreEngine.Tuning(2, Long.MAX_VALUE, 77L << 20));
      assertThat(diskShort.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(dump), scratch))
          .isEqualTo(new RestoreEngine.Restored(2, 100001));
      // a large object's data is restored by a pg_restore reading the dump in its order, which needs it spooled;
      // without the disk for it, the part spooled and the rest are streamed through one pg_restore, whole
      LocalPostgres.psql(db, "select lo_from_bytea(0, 'some bytes')");
      byte[] withLargeObject = pgDump(db);
      assertThatThrownBy(() -> diskShort.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(withLargeObject), scratch))
          .isInstanceOf(DumpFailedException.class).hasMessageContaining("restored over 1 connection(s)");
      assertThat(spooled.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(withLargeObject), scratch))
          .isEqualTo(new RestoreEngine.Restored(2, 100001));
      LocalPostgres.psql(db, "create or replace function observed() returns boolean language sql as 'select true';"
          + " insert into b select generate_series(100001, 150000)");
      byte[] large = pgDump(db);
      assertThat(diskShort.restore("backstop_verify_unit_jobs", new ByteArrayInputStream(large), scratch))
          .isEqualTo(new RestoreEngine.Restored(2, 150001));
      assertNoPostgresDatabase("backstop_verify_unit_jobs");
      // the spooled copy and the head (customer data and schema in plain) are gone once the test is done
      assertThat(scratch.resolve("dump.pgdump")).doesNotExist();
      assertThat(scratch.resolve("head.pgdump")).doesNotExist();
    } finally {
      LocalPostgres.dropDatabase(db);
      LocalPostgres.dropDatabase(asAdmin);
    }
  }

  @Test
  void a_dump_whose_reading_stalls_while_it_is_spooled_is_given_up_at_the_restore_timeout() {
    java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    InputStream stalling = new ChunkedInputStream() {
      private int served;

      @Override
      protected int readChunk(byte[] b, int off, int len) throws IOException {
        if (served < 100) {
          int n = Math.min(len, 100 - served);
          java.util.Arrays.fill(b, off, off + n, (byte) 'P');
          served += n;
          return n;
        }
        try {
          closed.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new IOException("stream closed");
      }

      @Override
      public void close() {
        closed.countDown();
      }
    };
    var engine = new PostgresRestoreEngine("psql", "pg_restore",
        new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, "postgres", LocalPostgres.USER, ""), Duration.ofMillis(500));

    assertThatThrownBy(() -> engine.restore("backstop_verify_unit_pg4", stalling, scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("the dump could not be read within PT0.5S and was given up");
    assertThat(scratch.resolve("dump.pgdump")).doesNotExist();
  }

  @Test
  void a_mariadb_dump_loads_without_unique_and_foreign_key_checks_and_commits_each_statement() throws Exception {
    String plain = LocalMariadb.createDatabase("backstop_restore_plain");
    try {
      // what the session looked like while the dump ran, kept as rows
      String observing = "CREATE TABLE seen (setting varchar(40));\n"
          + "INSERT INTO seen SELECT 'autocommit on' FROM DUAL WHERE @@session.autocommit = 1;\n"
          + "INSERT INTO seen SELECT 'unique checks off' FROM DUAL WHERE @@session.unique_checks = 0;\n"
          + "INSERT INTO seen SELECT 'foreign key checks off' FROM DUAL WHERE @@session.foreign_key_checks = 0;\n";
      LocalMariadb.sql(plain, observing);
      // a plain session: both checks on, autocommit on
      assertThat(LocalMariadb.sql(plain, "select group_concat(setting) from seen")).isEqualTo("autocommit on");

      var restored = mariadb.restore("backstop_verify_unit_my4", new ByteArrayInputStream(observing.getBytes()), scratch);

      // all three: autocommit on too, no transaction held open across a table's rows (MariaDB's statistics
      // thread spun a core on one through each restore: docs/benchmarks.md)
      assertThat(restored).isEqualTo(new RestoreEngine.Restored(1, 3));
      assertNoMariadbDatabase("backstop_verify_unit_my4");
    } finally {
      LocalMariadb.dropDatabase(plain);
    }
  }

  @Test
  void a_mariadb_dumps_rows_load_over_two_connections_each_with_the_dumps_session_settings() throws Exception {
    // a row for each INSERT run in the dump's session (mysqldump's header settings, the prelude's), by the connection that ran it
    String observe = "INSERT INTO seen SELECT CONNECTION_ID() FROM DUAL WHERE @@session.character_set_client = 'binary'"
        + " AND @@session.time_zone = '+00:00' AND @@session.sql_mode = 'NO_AUTO_VALUE_ON_ZERO'"
        + " AND @@session.unique_checks = 0 AND @@session.foreign_key_checks = 0;\n";
    String dump = "/*!40101 SET NAMES binary */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n"
        + "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
        + "CREATE TABLE seen (conn bigint);\nCREATE TABLE connections (conn bigint);\n"
        + "LOCK TABLES `seen` WRITE;\n" + observe.repeat(4) + "UNLOCK TABLES;\n"
        + "INSERT INTO connections SELECT DISTINCT conn FROM seen;\n";

    // four rows seen, run by two connections
    assertThat(mariadb.restore("backstop_verify_unit_my6", new ByteArrayInputStream(dump.getBytes()), scratch))
        .isEqualTo(new RestoreEngine.Restored(2, 4 + 2));
    // the same four over one
    assertThat(mariadbOneConnection.restore("backstop_verify_unit_my6", new ByteArrayInputStream(dump.getBytes()), scratch))
        .isEqualTo(new RestoreEngine.Restored(2, 4 + 1));
    assertNoMariadbDatabase("backstop_verify_unit_my6");
  }

  @Test
  void a_mysqldump_of_several_inserts_per_table_restores_over_two_connections_with_its_trigger_firing_on_none() throws Exception {
    // about 4 MB of rows: mysqldump writes an INSERT per megabyte, so both connections get some
    byte[] dump = mariadbDumpOf("create table notes (id int primary key, body varchar(200), raw varbinary(16));"
        + " create table audit (id int);"
        + " insert into notes select seq, repeat(md5(seq), 3), unhex(md5(seq)) from seq_1_to_40000;"
        + " create trigger logged after insert on notes for each row insert into audit values (new.id)");
    assertThat(new String(dump, java.nio.charset.StandardCharsets.ISO_8859_1).split("INSERT INTO `notes`", -1)).hasSizeGreaterThan(3);

    var restored = mariadb.restore("backstop_verify_unit_my8", new ByteArrayInputStream(dump), scratch);

    // every row, and none in audit: the trigger was created once both connections' rows were in
    assertThat(restored).isEqualTo(new RestoreEngine.Restored(2, 40000));
    assertNoMariadbDatabase("backstop_verify_unit_my8");
  }

  @Test
  void a_row_failing_on_either_connection_fails_the_test_with_its_line_in_the_dump_and_stops_the_other() throws Exception {
    String table = "CREATE TABLE t (id int primary key);\nLOCK TABLES `t` WRITE;\n";
    // line 4 is the second connection's first INSERT, line 5 the main one's second
    String secondFails = table + "INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES (2, 'extra');\n"
        + "INSERT INTO `t` VALUES (3);\nINSERT INTO `t` VALUES (4);\nUNLOCK TABLES;\n";
    String mainFails = table + "INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES (2);\n"
        + "INSERT INTO `t` VALUES (3, 'extra');\nINSERT INTO `t` VALUES (4);\nUNLOCK TABLES;\n";
    String refused = table + "INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES (2);\nUNLOCK TABLES;\nUSE mysql;\n";

    assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my7", new ByteArrayInputStream(secondFails.getBytes()), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("mysql failed (exit 1)")
        .hasMessageContaining("at line 4 of the dump: Column count doesn't match");
    assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my7", new ByteArrayInputStream(mainFails.getBytes()), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("at line 5 of the dump: Column count doesn't match");
    assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my7", new ByteArrayInputStream(refused.getBytes()), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("the dump holds a statement that leaves the scratch database (USE at line 6): refused before it was run");
    assertNoMariadbDatabase("backstop_verify_unit_my7");
  }

  @Test
  void a_mariadb_dump_that_turns_autocommit_off_itself_keeps_its_last_rows() throws Exception {
    // as mysqldump --no-autocommit writes, less its final commit: the client's disconnect would roll the rows back
    String dump = "CREATE TABLE t (id int);\nSET autocommit = 0;\nINSERT INTO t VALUES (1), (2);\n";

    var restored = mariadb.restore("backstop_verify_unit_my5", new ByteArrayInputStream(dump.getBytes()), scratch);

    assertThat(restored).isEqualTo(new RestoreEngine.Restored(1, 2));
    assertNoMariadbDatabase("backstop_verify_unit_my5");
  }

  @Test
  void a_mariadb_dump_restores_with_its_rows_counted_and_a_broken_one_fails() throws Exception {
    byte[] dump = mariadbDumpOf("create table orders (id int primary key, note varchar(40)) character set utf8mb4;"
        + " create table `odd``name` (id int); insert into `odd``name` values (1), (2), (3);"
        + " insert into orders select seq, md5(seq) from seq_1_to_700");

    var restored = mariadb.restore("backstop_verify_unit_my", new ByteArrayInputStream(dump), scratch);

    assertThat(restored).isEqualTo(new RestoreEngine.Restored(2, 703));
    assertNoMariadbDatabase("backstop_verify_unit_my");
    assertThat(mariadb.serverName(scratch)).matches("MariaDB \\d+\\.\\d+\\.\\d+");

    byte[] broken = (new String(dump, java.nio.charset.StandardCharsets.ISO_8859_1)
        .replaceFirst("INSERT INTO", "INSERT INTOO")).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my", new ByteArrayInputStream(broken), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageContaining("mysql failed (exit 1)")
        .hasMessageContaining("syntax");
    assertNoMariadbDatabase("backstop_verify_unit_my");
  }

  @Test
  void a_mariadb_dump_with_views_triggers_routines_and_events_restores_as_a_user_of_its_own_dropped_afterwards() throws Exception {
    byte[] dump = mariadbDumpOf("create table orders (id int primary key, total int); create table audit (id int);"
        + " insert into orders select seq, seq from seq_1_to_50;"
        + " create view big as select * from orders where total > 10;"
        + " create trigger logged after insert on orders for each row insert into audit values (new.id);"
        + " create procedure touch() modifies sql data update orders set total = total;"
        + " create function twice(x int) returns int deterministic return 2 * x;"
        + " create event nightly on schedule every 1 day disable do delete from audit");
    assertThat(new String(dump, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("DEFINER=`root`@`");

    var restored = mariadb.restore("backstop_verify_unit_my2", new ByteArrayInputStream(dump), scratch);

    assertThat(restored).isEqualTo(new RestoreEngine.Restored(2, 50));
    assertThat(LocalMariadb.sql(null, "select count(*) from mysql.user where user = '"
        + MysqlRestoreEngine.scratchUser("backstop_verify_unit_my2") + "'")).isEqualTo("0");
    assertNoMariadbDatabase("backstop_verify_unit_my2");
  }

  @Test
  void a_mariadb_restore_cannot_reach_another_database_and_a_switch_of_database_is_refused_before_it_runs() throws Exception {
    String victim = LocalMariadb.createDatabase("backstop_restore_victim");
    try {
      byte[] reaching = ("CREATE TABLE a (i int);\nCREATE TABLE `" + victim + "`.b (i int);\n").getBytes();
      assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my3", new ByteArrayInputStream(reaching), scratch))
          .isInstanceOf(DumpFailedException.class)
          .hasMessageContaining("denied");

      byte[] switching = ("CREATE TABLE a (i int);\nUSE `" + victim + "`;\nCREATE TABLE b (i int);\n").getBytes();
      assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my3", new ByteArrayInputStream(switching), scratch))
          .isInstanceOf(DumpFailedException.class)
          .hasMessage("the dump holds a statement that leaves the scratch database (USE at line 2): refused before it was run");

      byte[] creating = ("CREATE TABLE a (i int);\n\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `backstop_restore_new`;\n").getBytes();
      assertThatThrownBy(() -> mariadb.restore("backstop_verify_unit_my3", new ByteArrayInputStream(creating), scratch))
          .hasMessageContaining("(CREATE DATABASE at line 3)");

      assertThat(LocalMariadb.sql(victim, "show tables")).isEmpty();
      assertNoMariadbDatabase("backstop_restore_new");
      assertNoMariadbDatabase("backstop_verify_unit_my3");
    } finally {
      LocalMariadb.dropDatabase(victim);
    }
  }

  @Test
  void the_scratch_servers_other_databases_are_listed_and_scratch_ones_are_not() throws Exception {
    String mine = LocalMariadb.createDatabase("backstop_verify_unit");
    String minePg = LocalPostgres.createDatabase("backstop_verify_unit");
    // a database of someone else's: exactly what a dedicated scratch server must not hold
    String other = LocalMariadb.createDatabase("someone_elses");
    String otherPg = LocalPostgres.createDatabase("someone_elses");
    try {
      assertThat(mariadb.otherDatabases("backstop_verify_", scratch)).contains(other).doesNotContain(mine, "mysql", "sys");
      assertThat(postgres.otherDatabases("backstop_verify_", scratch)).contains(otherPg)
          .doesNotContain(minePg, "postgres", "template0", "template1");
    } finally {
      LocalMariadb.dropDatabase(mine);
      LocalPostgres.dropDatabase(minePg);
      LocalMariadb.dropDatabase(other);
      LocalPostgres.dropDatabase(otherPg);
    }
  }

  /** Stock pg_restore as the server's superuser fails with this message: the dump's own code ran as it. */
  private void assertFailsRestoredAsAdministrator(byte[] dump, String database, String message) throws IOException {
    Path file = scratch.resolve("dump.pgsql");
    java.nio.file.Files.write(file, dump);
    assertThatThrownBy(() -> LocalPostgres.restore(file, database)).hasMessageContaining(message);
  }

  private static void assertNoPostgresDatabase(String name) {
    assertThat(LocalPostgres.psql("postgres", "select count(*) from pg_database where datname = '" + name + "'"))
        .as("database " + name).isEqualTo("0");
  }

  private static void assertNoMariadbDatabase(String name) {
    assertThat(LocalMariadb.sql(null, "show databases like '" + name + "'")).as("database " + name).isEmpty();
  }

  /** A mysqldump of a database made with this SQL, dropped once dumped. */
  private byte[] mariadbDumpOf(String sql) throws Exception {
    String db = LocalMariadb.createDatabase("backstop_restore_src");
    try {
      LocalMariadb.sql(db, sql);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      new MysqlDumpEngine("mysqldump", TIMEOUT).dump(new DumpTarget(LocalMariadb.HOST, LocalMariadb.PORT, db, LocalMariadb.USER, ""),
          out, scratch);
      return out.toByteArray();
    } finally {
      LocalMariadb.dropDatabase(db);
    }
  }

  /** A custom-format pg_dump of a database made with this SQL, dropped once dumped. */
  private byte[] pgDumpOf(String sql) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_restore_src");
    try {
      LocalPostgres.psql(db, sql);
      return pgDump(db);
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }

  private byte[] pgDump(String db) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new PostgresDumpEngine("pg_dump", TIMEOUT).dump(new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, ""),
        out, scratch);
    return out.toByteArray();
  }
}
