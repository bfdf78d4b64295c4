package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.RestoreEngine.Restored;
import dev.backstop.worker.engine.Scrubber;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The steps every {@code pg_restore} of a custom-format dump takes, into a scratch server's database
 * ({@link PostgresRestoreEngine}) or into one an operator named ({@link PostgresTargetRestore}): the
 * client chosen by the dump's archive version, the tool run as the database's user with the password
 * only in a 0600 pgpass file in the scratch folder, what the tools say scrubbed, and the restored
 * tables and rows counted. One serves one restore: its environment names that restore's scratch folder.
 */
final class PgRestoreRun {

  /** A line of {@code pg_restore --list}: the entry's id, then (after its catalog ids) its type and names. */
  private static final Pattern TOC_ENTRY = Pattern.compile("(\\d+); \\d+ \\d+ (.*)");

  /**
   * Makes every table of the restored schema unlogged, unless there is a partitioned table (a foreign key on
   * it could not reference an unlogged table); prints {@code t} when every table is. All or none: a table that cannot be
   * changed leaves every table as it was, and the restore goes on with them logged. A throwaway database
   * loses nothing by it: on a crash, it is dropped all the same.
   */
  static final String UNLOGGED = "do $$ declare t oid; begin"
      + " if exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'p'"
      + "   and n.nspname not in ('pg_catalog', 'information_schema')) then return; end if;"
      + " for t in select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r'"
      + "   and c.relpersistence = 'p' and n.nspname not in ('pg_catalog', 'information_schema')"
      + "   and n.nspname not like 'pg\\_toast%' loop execute format('alter table %s set unlogged', t::regclass); end loop;"
      + " exception when others then null; end $$;"
      + " select not exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r'"
      + "   and c.relpersistence = 'p' and n.nspname not in ('pg_catalog', 'information_schema')"
      + "   and n.nspname not like 'pg\\_toast%')";

  /** The dump, buffered and still unread, and the {@code pg_restore} its archive version calls for. */
  record Chosen(InputStream dump, String pgRestore) {}

  private final String psql;
  private final Duration timeout;
  private final Map<String, String> environment;
  private final Scrubber scrubber;
  private String phases;

  /**
   * @param environment the tools' environment; its {@code PGPASSFILE} is the scratch folder's {@code pgpass}
   * @param scrubber hides every secret the tools could echo
   */
  PgRestoreRun(String psql, Duration timeout, Map<String, String> environment, Scrubber scrubber) {
    this.psql = psql;
    this.timeout = timeout;
    this.environment = environment;
    this.scrubber = scrubber;
  }

  /** Reads the dump's header (put back) for the client that reads it. */
  static Chosen choose(PostgresClients clients, InputStream dumpStream)
      throws PostgresClients.ClientMissingException, IOException {
    InputStream dump = new BufferedInputStream(dumpStream, 1 << 16);
    dump.mark(16);
    int dumpMajor = PostgresClients.restoreMajorFor(dump.readNBytes(8));
    dump.reset();
    return new Chosen(dump, clients.pgRestore(dumpMajor));
  }

  /**
   * Runs {@code pg_restore} as {@code owner}, the dump on standard input (null: the command names a
   * file), then counts the tables and rows the database holds.
   *
   * @param pgOptions {@code PGOPTIONS} of the restore's connections only (null: none)
   * @throws DumpFailedException pg_restore or the count failed (the scrubbed reason)
   */
  Restored restore(DumpTarget owner, List<String> command, String pgOptions, InputStream dump, Path scratch)
      throws DumpFailedException, IOException {
    Map<String, String> restoring = new HashMap<>(environment);
    if (pgOptions != null) {
      restoring.put("PGOPTIONS", pgOptions);
    }
    ExternalCommand.runWithSecretFile("pg_restore", scratch.resolve("pgpass"), PostgresDumpEngine.pgpassLine(owner),
        scrubber, command, restoring, scratch, timeout, dump, OutputStream.nullOutputStream());
    String[] counts = query(owner, PostgresRestoreEngine.COUNT_TABLES_AND_ROWS, scratch).trim().split("\\|");
    return new Restored(Integer.parseInt(counts[0].trim()), Long.parseLong(counts[1].trim()));
  }

  /**
   * Restores a dump in its three sections, as fast as a scratch server allows: the schema
   * ({@code --section=pre-data}); then, when no partitioned table or publication could object, every
   * table made unlogged ({@link #UNLOGGED}: its rows and indexes write no WAL, which two connections
   * loading one table could not otherwise skip); the rows of each table dealt out to {@code connections}
   * {@code psql} clients ({@link ParallelCopy}) after the rest of the data (sequences, large objects);
   * then indexes, constraints and triggers over {@code connections} jobs ({@code --section=post-data}).
   * Each step stops at its first error. Then the tables and rows are counted.
   *
   * @param archive the dump spooled whole, or its head alone ({@link ArchiveToc}) when {@code data} is given
   * @param data the whole dump, read once, for the tables' rows; null: they are read from {@code archive}
   * @param pgOptions {@code PGOPTIONS} of the restore's connections
   * @throws DumpFailedException a step or the count failed (the scrubbed reason)
   */
  Restored restoreInSections(DumpTarget owner, String pgRestore, Path archive, InputStream data, int connections,
      String pgOptions, OutputBuffer buffer, Path scratch) throws DumpFailedException, IOException {
    Map<String, String> restoring = new HashMap<>(environment);
    restoring.put("PGOPTIONS", pgOptions);
    long start = System.nanoTime();
    ByteArrayOutputStream listed = new ByteArrayOutputStream();
    ExternalCommand.run("pg_restore", scrubber, List.of(pgRestore, "--list", archive.toString()), environment, scratch, timeout,
        listed);
    List<String> tableData = new ArrayList<>();
    List<String> rest = new ArrayList<>();
    boolean published = false;
    for (String entry : listed.toString(StandardCharsets.UTF_8).lines().toList()) {
      Matcher listing = TOC_ENTRY.matcher(entry);
      if (listing.lookingAt()) {
        (listing.group(2).startsWith("TABLE DATA ") ? tableData : rest).add(listing.group(1) + "\n");
        published |= listing.group(2).startsWith("PUBLICATION TABLE");
      }
    }
    Path tableDataList = Files.writeString(scratch.resolve("table-data.list"), String.join("", tableData));
    Path restList = Files.writeString(scratch.resolve("rest.list"), String.join("", rest));
    List<String> connecting = new ArrayList<>(List.of(pgRestore, "--exit-on-error", "--no-owner", "--no-privileges",
        "--no-password"));
    connecting.addAll(connection(owner));

    pgRestore(owner, with(connecting, "--section=pre-data", archive.toString()), restoring, scratch);
    long schema = System.nanoTime();
    boolean unlogged = !published && query(owner, UNLOGGED, scratch).trim().equals("t");
    pgRestore(owner, with(connecting, "--section=data", "--use-list=" + restList, archive.toString()), restoring, scratch);
    long rows = System.nanoTime();
    if (!tableData.isEmpty()) {
      ParallelCopy.Client[] clients = new ParallelCopy.Client[connections];
      for (int c = 0; c < connections; c++) {
        // each client its own folder: its pgpass file and its error output
        Path folder = Files.createDirectories(scratch.resolve("copy-" + (c + 1)));
        Map<String, String> copying = new HashMap<>(restoring);
        copying.put("PGPASSFILE", folder.resolve("pgpass").toString());
        List<String> command = new ArrayList<>(List.of(psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
            "--no-password"));
        command.addAll(connection(owner));
        clients[c] = (input, exited) -> ExternalCommand.runWithSecretFile("psql", folder.resolve("pgpass"),
            PostgresDumpEngine.pgpassLine(owner), scrubber, command, copying, folder, timeout, input,
            OutputStream.nullOutputStream(), exited);
      }
      Path scriptFolder = Files.createDirectories(scratch.resolve("copy-script"));
      // the script goes to pg_restore's standard output, a pipe: /dev/stdout names it for every pg_restore version;
      // through stdbuf, in a pipe's worth at a time rather than a page (the rows' load took a quarter longer)
      List<String> script = new ArrayList<>(List.of(pgRestore, "--section=data", "--use-list=" + tableDataList, "--no-owner",
          "--no-privileges", "--file=/dev/stdout"));
      if (data == null) {
        script.add(archive.toString());
      }
      // read from standard input, the archive's blocks are skipped or restored as they come, in the order of the list
      ParallelCopy.load(out -> ExternalCommand.run("pg_restore", scrubber, buffer.around(script), environment, scriptFolder,
          timeout, data, out), clients);
    }
    long indexes = System.nanoTime();
    pgRestore(owner, with(connecting, "--section=post-data", "--jobs=" + connections, archive.toString()), restoring, scratch);
    long counting = System.nanoTime();
    String[] counts = query(owner, PostgresRestoreEngine.COUNT_TABLES_AND_ROWS, scratch).trim().split("\\|");
    phases = String.format("schema %d ms, tables %s, rows %d ms over %d connections, indexes and constraints %d ms, count %d ms",
        (schema - start) / 1_000_000, unlogged ? "unlogged" : "logged", (indexes - rows) / 1_000_000, connections,
        (counting - indexes) / 1_000_000, (System.nanoTime() - counting) / 1_000_000);
    return new Restored(Integer.parseInt(counts[0].trim()), Long.parseLong(counts[1].trim()));
  }

  /** Where {@link #restoreInSections}'s time went, once it returned; null before. */
  String phases() {
    return phases;
  }

  private void pgRestore(DumpTarget owner, List<String> command, Map<String, String> restoring, Path scratch)
      throws DumpFailedException, IOException {
    ExternalCommand.runWithSecretFile("pg_restore", scratch.resolve("pgpass"), PostgresDumpEngine.pgpassLine(owner), scrubber,
        command, restoring, scratch, timeout, OutputStream.nullOutputStream());
  }

  private static List<String> with(List<String> command, String... more) {
    List<String> whole = new ArrayList<>(command);
    whole.addAll(List.of(more));
    return whole;
  }

  /** Runs one SQL command as {@code as}; its unaligned, tuples-only output. */
  String query(DumpTarget as, String sql, Path scratch) throws DumpFailedException, IOException {
    List<String> command = new ArrayList<>(List.of(psql, "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
        "--set", "ON_ERROR_STOP=1", "--no-password", "--command", sql));
    command.addAll(connection(as));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExternalCommand.runWithSecretFile("psql", scratch.resolve("pgpass"), PostgresDumpEngine.pgpassLine(as), scrubber,
        command, environment, scratch, timeout, out);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** libpq's connection options for the target; never its password. */
  static List<String> connection(DumpTarget target) {
    return List.of("--host", target.host(), "--port", Integer.toString(target.port()), "--username", target.user(),
        "--dbname", target.database());
  }
}
