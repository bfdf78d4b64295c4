package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.backstop.testing.LocalPostgres;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.RestoreEngine.Restored;
import dev.backstop.worker.engine.Scrubber;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A spooled dump restored in sections, its rows over two {@code psql} connections, through the real tools and server. */
class ParallelCopyTest {

  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path scratch;

  @Test
  void a_tables_rows_load_over_two_connections_unlogged_with_hostile_names_and_data_intact() throws Exception {
    Path marker = scratch.resolve("injected");
    // a name that closes its line and holds a psql meta-command, a column named like COPY's end, rows holding
    // line breaks, tabs, backslashes and a lone \., and nulls in the first column
    String table = "\"we\"\"ird\n\\! touch " + marker + "\n;\"";
    String sql = "create table public.seen (pid int);"
        + " create function public.watch() returns boolean language plpgsql as $$ begin"
        + "   insert into public.seen select pg_backend_pid() where not exists (select from public.seen where pid = pg_backend_pid());"
        + "   return true; end $$;"
        + " create table " + table + " (id int primary key check (public.watch()), \"col;\\.\" text);"
        + " insert into " + table + " select g, case g % 4 when 0 then E'line\\nbreak\\tand \\\\ back' when 1 then '\\.'"
        + "   when 2 then null else repeat(md5(g::text), 3) end from generate_series(1, 40000) g;"
        + " create table public.nulls (a int, b text); insert into public.nulls select case when g % 2 = 0 then g end, 'n'"
        + "   from generate_series(1, 3000) g;"
        + " create table public.parent (id int primary key); insert into public.parent values (1), (2);"
        + " create table public.child (id int, parent int references public.parent); insert into public.child values (1, 2);"
        + " create sequence public.counter; select setval('public.counter', 77);"
        + " truncate public.seen";
    String source = LocalPostgres.createDatabase("backstop_copy_src");
    String target = LocalPostgres.createDatabase("backstop_copy_dst");
    try {
      LocalPostgres.psql(source, sql);
      PgRestoreRun run = run();

      // as the restore test streams it: the archive's head in a file, the whole dump read once for the rows
      byte[] dump = Files.readAllBytes(spool(source));
      ArchiveToc.Read head = ArchiveToc.read(new ByteArrayInputStream(dump), 1 << 20);
      assertThat(head.onlyTablesHaveData()).isTrue();
      assertThat(head.head().length).isLessThan(dump.length / 10);
      Files.delete(scratch.resolve("dump.pgdump"));
      Path headFile = Files.write(scratch.resolve("head.pgdump"), head.head());

      Restored restored = run.restoreInSections(owner(target), "pg_restore", headFile, new ByteArrayInputStream(dump), 2,
          "-c synchronous_commit=off", OutputBuffer.find(65536, System.getenv("PATH")), scratch);

      assertThat(restored).isEqualTo(new Restored(5, 40000 + 3000 + 2 + 1 + 2));
      for (String restoredTable : List.of(table, "public.nulls", "public.parent", "public.child")) {
        String fingerprint = "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from " + restoredTable + " t";
        assertThat(LocalPostgres.psql(target, fingerprint)).as(restoredTable).isEqualTo(LocalPostgres.psql(source, fingerprint));
      }
      // the large table's rows went through two server processes (its check ran in each), into unlogged tables
      // (a foreign key between two of them restored), the sequence set by the rest of the data
      assertThat(LocalPostgres.psql(target, "select count(distinct pid) from public.seen")).isEqualTo("2");
      assertThat(LocalPostgres.psql(target, "select string_agg(distinct relpersistence::text, ',') from pg_class"
          + " where relnamespace = 'public'::regnamespace and relkind = 'r'")).isEqualTo("u");
      assertThat(LocalPostgres.psql(target, "select last_value from public.counter")).isEqualTo("77");
      assertThat(run.phases()).contains("tables unlogged").contains("over 2 connections");
      assertThat(marker).doesNotExist();
    } finally {
      LocalPostgres.dropDatabase(source);
      LocalPostgres.dropDatabase(target);
    }
  }

  @Test
  void tables_stay_logged_where_a_publication_or_a_partitioned_table_could_not_take_unlogged_ones() throws Exception {
    for (String schema : List.of(
        "create table public.t (id int primary key); create publication backstop_copy_pub for table public.t;",
        "create table public.t (id int primary key);"
            + " create table public.events (id int, t int references public.t) partition by range (id);"
            + " create table public.events_1 partition of public.events for values from (0) to (100);"
            + " insert into public.events values (1, 1)")) {
      String source = LocalPostgres.createDatabase("backstop_copy_src");
      String target = LocalPostgres.createDatabase("backstop_copy_dst");
      try {
        LocalPostgres.psql(source, schema.replace("create table public.t (id int primary key);",
            "create table public.t (id int primary key); insert into public.t select generate_series(1, 10);"));
        PgRestoreRun run = run();

        Restored restored = run.restoreInSections(owner(target), "pg_restore", spool(source), null, 2, "-c synchronous_commit=off",
            OutputBuffer.TOOLS_OWN, scratch);

        assertThat(restored.rows()).as(schema).isEqualTo(schema.contains("events") ? 11 : 10);
        assertThat(run.phases()).as(schema).contains("tables logged");
        assertThat(LocalPostgres.psql(target, "select count(*) from pg_class where relpersistence = 'u'")).isEqualTo("0");
      } finally {
        LocalPostgres.dropDatabase(source);
        LocalPostgres.dropDatabase(target);
      }
    }
  }

  @Test
  void a_row_refused_on_either_connection_fails_the_restore_with_the_servers_reason_and_stops_the_other() throws Exception {
    String source = LocalPostgres.createDatabase("backstop_copy_src");
    String target = LocalPostgres.createDatabase("backstop_copy_dst");
    try {
      // the customer's check refuses one row late in the table, on whichever connection it lands
      LocalPostgres.psql(source, "create function public.fine(id int) returns boolean language sql as 'select true';"
          + " create table public.t (id int check (public.fine(id)), note text);"
          + " insert into public.t select g, md5(g::text) from generate_series(1, 60000) g;"
          + " create or replace function public.fine(id int) returns boolean language plpgsql as $$ begin"
          + "   if id = 45000 then raise exception 'row % refused', id; end if; return true; end $$");
      PgRestoreRun run = run();
      long start = System.nanoTime();

      assertThatThrownBy(() -> run.restoreInSections(owner(target), "pg_restore", spool(source), null, 2, "-c synchronous_commit=off",
          OutputBuffer.TOOLS_OWN, scratch))
          .isInstanceOf(DumpFailedException.class)
          .hasMessageStartingWith("psql failed")
          .hasMessageContaining("row 45000 refused");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(60));
      // no client is left loading: the database's sessions end (a server process notices its client gone at its next read)
      String sessions = "select count(*) from pg_stat_activity where datname = '" + target + "'";
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(LocalPostgres.psql("postgres", sessions)).isEqualTo("0"));
    } finally {
      LocalPostgres.dropDatabase(source);
      LocalPostgres.dropDatabase(target);
    }
  }

  private PgRestoreRun run() {
    return new PgRestoreRun("psql", TIMEOUT, PostgresDumpEngine.environment(scratch.resolve("pgpass")), Scrubber.hiding());
  }

  private static DumpTarget owner(String database) {
    return new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, database, LocalPostgres.USER, "");
  }

  /** The database dumped by Backstop's own engine, in a file as the restore test spools it. */
  private Path spool(String database) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Path dumping = Files.createDirectories(scratch.resolve("dumping"));
    new PostgresDumpEngine("pg_dump", TIMEOUT).dump(owner(database), out, dumping);
    return Files.write(scratch.resolve("dump.pgdump"), out.toByteArray());
  }
}
