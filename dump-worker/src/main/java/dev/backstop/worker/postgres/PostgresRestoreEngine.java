package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.InputsInSequence;
import dev.backstop.worker.engine.OutputBuffer;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.engine.Scrubber;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pg_restore} of a custom-format dump (spooled to a file, or read from a pipe), as the README tells customers to restore
 * ({@code --no-owner --no-privileges}), stopping at the first error ({@code --exit-on-error}): a dump
 * that restores only in part does not pass.
 *
 * <p>As fast as a throwaway scratch server allows: the dump is restored section by section over N
 * connections, each table's rows dealt out to all of them as they are read ({@link PgRestoreRun#restoreInSections}):
 * the schema from the archive's head ({@link ArchiveToc}), written to the test's scratch folder. A dump whose
 * head is not known, or with large objects (restored by a pg_restore reading the archive in its order), is
 * first spooled there whole and restored the same way from the file; while spooling would leave less than
 * {@link Tuning#spoolMinFreeBytes} free, the part spooled and
 * the rest are streamed through a pipe instead, as with {@code jobs} 1. Each connection sets what any role
 * may set for its own session ({@code PGOPTIONS}): {@code synchronous_commit=off} (no wait for the WAL
 * flush at each commit) and a larger {@code maintenance_work_mem} for the index builds. Server-wide
 * settings ({@code fsync}, {@code full_page_writes}) are the scratch server's configuration (README).
 *
 * <p>A restore runs code the dump's authors wrote (functions called by constraints, defaults and
 * indexes while the data loads), so it never runs as the scratch server's administrator. Each test
 * gets a role of its own, named like its database, with a random password, no privilege beyond owning
 * that database, and dropped with it; the restore and the counts connect as that role.
 */
public class PostgresRestoreEngine implements RestoreEngine {

  @Override
  public FailureClassifier failures() {
    return PostgresFailures.CLASSIFIER;
  }

  /** Counts the restored tables (partitions, not their parents) and, exactly, their rows, in one query. */
  static final String COUNT_TABLES_AND_ROWS = "select count(*), coalesce(sum((xpath('/row/c/text()', query_to_xml("
      + "format('select count(*) as c from only %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint), 0) "
      + "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' "
      + "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'";

  private static final Logger log = LoggerFactory.getLogger(PostgresRestoreEngine.class);
  private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "pg-restore-spool-deadline");
    thread.setDaemon(true);
    return thread;
  });
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The most of an archive's head (schema and all) read before it is spooled whole instead. */
  private static final long HEAD_LIMIT = 64L << 20;

  private final String psql;
  private final PostgresClients clients;
  private final DumpTarget server;
  private final Duration timeout;
  private final Tuning tuning;
  private final OutputBuffer buffer;

  /**
   * How restores use the scratch server.
   *
   * @param jobs connections of a restore, each table's rows dealt out to all of them; 1 streams the dump through one
   *     pg_restore, never spooled
   * @param spoolMinFreeBytes free space the scratch folder keeps while a dump is spooled; less, and the dump is streamed
   * @param maintenanceWorkMemBytes each connection's {@code maintenance_work_mem}, for its index builds
   */
  public record Tuning(int jobs, long spoolMinFreeBytes, long maintenanceWorkMemBytes) {

    /** What the verifier's settings default to. */
    public static final Tuning DEFAULT = new Tuning(2, 1L << 30, 256L << 20);

    public Tuning {
      if (jobs < 1 || spoolMinFreeBytes < 0 || maintenanceWorkMemBytes < (1L << 20)) {
        throw new IllegalArgumentException("jobs at least 1, free space not negative, maintenance_work_mem at least 1MB");
      }
    }
  }

  /** Always restores with {@code pgRestore}, whatever the dump's version. */
  public PostgresRestoreEngine(String psql, String pgRestore, DumpTarget server, Duration timeout) {
    this(psql, PostgresClients.fixed("pg_dump", pgRestore), server, timeout, Tuning.DEFAULT);
  }

  /** Always restores with {@code pgRestore}, tuned as given. */
  public PostgresRestoreEngine(String psql, String pgRestore, DumpTarget server, Duration timeout, Tuning tuning) {
    this(psql, PostgresClients.fixed("pg_dump", pgRestore), server, timeout, tuning);
  }

  /** Chooses the pg_restore by the dump's version, tuned by default. */
  public PostgresRestoreEngine(String psql, PostgresClients clients, DumpTarget server, Duration timeout) {
    this(psql, clients, server, timeout, Tuning.DEFAULT);
  }

  /**
   * @param clients which pg_restore a dump's version calls for
   * @param server the scratch server's administrator; its database is the one to connect to for creating and dropping others
   */
  public PostgresRestoreEngine(String psql, PostgresClients clients, DumpTarget server, Duration timeout, Tuning tuning) {
    this(psql, clients, server, timeout, tuning, OutputBuffer.TOOLS_OWN);
  }

  /** @param buffer how pg_restore writes a dump's table data to the worker, which deals it out to the connections */
  public PostgresRestoreEngine(String psql, PostgresClients clients, DumpTarget server, Duration timeout, Tuning tuning,
      OutputBuffer buffer) {
    this.buffer = buffer;
    this.psql = psql;
    this.clients = clients;
    this.server = server;
    this.timeout = timeout;
    this.tuning = tuning;
  }

  @Override
  public String serverName(Path scratch) throws ScratchServerException, IOException {
    return "PostgreSQL " + admin("show server_version", scratch).trim().split(" ")[0];
  }

  @Override
  public Restored restore(String database, InputStream dumpStream, Path scratch)
      throws ScratchServerException, DumpFailedException, IOException {
    PgRestoreRun.Chosen chosen;
    try {
      chosen = PgRestoreRun.choose(clients, dumpStream);
    } catch (PostgresClients.ClientMissingException e) {
      // this worker's shortcoming, not the backup's: the test waits for a worker that has the client
      throw new ScratchServerException(e.getMessage());
    }
    InputStream dump = chosen.dump();
    String pgRestore = chosen.pgRestore();
    Path spool = scratch.resolve("dump.pgdump");
    String password = HexFormat.of().formatHex(randomBytes());
    long start = System.nanoTime();
    // the role and database are made while the dump's head is read (or the dump spools): psql waits on the
    // server, the reading on the archive, and neither needs the other until pg_restore starts
    FutureTask<Long> preparation = new FutureTask<>(() -> {
      prepare(database, password, scratch);
      return System.nanoTime();
    });
    Thread.ofVirtual().name("restore-prepare").start(preparation);
    long spooled = start;
    long loading = start;
    PgRestoreRun run = null;
    Path head = scratch.resolve("head.pgdump");
    String how = "";
    try {
      InputStream rest = dump;
      ArchiveToc.Read read = null;
      if (tuning.jobs() > 1) {
        // the archive's head first: with it, the schema is restored while the rows are still on their way
        read = withinTimeout(dump, () -> ArchiveToc.read(dump, HEAD_LIMIT));
        InputStream whole = new InputsInSequence(new ByteArrayInputStream(read.head()), dump);
        if (read.onlyTablesHaveData()) {
          write(head, read.head());
          rest = whole;
          how = "head read";
        } else {
          read = null;
          rest = withinTimeout(whole, () -> spool(whole, spool, scratch));
          how = rest == null ? "spooled" : "spooling cut short";
        }
      }
      spooled = System.nanoTime();
      awaitPreparation(preparation);
      loading = System.nanoTime();
      DumpTarget owner = new DumpTarget(server.host(), server.port(), database, database, password);
      run = new PgRestoreRun(clients.psql(psql), timeout, PostgresDumpEngine.environment(scratch.resolve("pgpass")),
          Scrubber.hiding(password, server.password()));
      if (read != null) {
        return run.restoreInSections(owner, pgRestore, head, rest, tuning.jobs(), sessionOptions(tuning), buffer, scratch);
      }
      if (rest == null) {
        return run.restoreInSections(owner, pgRestore, spool, null, tuning.jobs(), sessionOptions(tuning), buffer, scratch);
      }
      return run.restore(owner, restoreCommand(pgRestore, owner), sessionOptions(tuning), rest, scratch);
    } finally {
      // never dropped while its creation still runs: the drop would come first and the creation leave it behind
      awaitQuietly(preparation);
      long dropping = System.nanoTime();
      dropAfterTest(database, scratch);
      Files.deleteIfExists(spool);
      Files.deleteIfExists(head);
      // where a slow restore test's time went: the verifier's log line says only the whole
      log.info("restore test into {}: {} {} ms, prepared {} ms (meanwhile), pg_restore and count {} ms{}, dropped {} ms",
          database, how.isEmpty() ? "streamed after" : how, (spooled - start) / 1_000_000,
          (preparedAt(preparation, start) - start) / 1_000_000,
          loading > start ? (dropping - loading) / 1_000_000 : 0,
          run == null || run.phases() == null ? "" : " (" + run.phases() + ")", (System.nanoTime() - dropping) / 1_000_000);
    }
  }

  /** Drops a leftover of an earlier test of the same backup, then creates the test's role and database. */
  private void prepare(String database, String password, Path scratch) throws ScratchServerException, IOException {
    drop(database, scratch);
    String name = identifier(database);
    // the password travels on psql's standard input, never its command line
    // the role owns its database's public schema too: on a cluster whose template keeps that schema
    // the administrator's (upgraded from before PostgreSQL 15), it could not create anything there
    admin("create role " + name + " login nosuperuser nocreatedb nocreaterole noinherit password '" + password + "';\n"
        + "create database " + name + " owner " + name + ";\n"
        + "\\connect " + name + "\n"
        + "alter schema public owner to " + name + ";\n", scratch);
  }

  /** Waits for the preparation; its failure is the restore's. */
  private static void awaitPreparation(FutureTask<Long> preparation) throws ScratchServerException, IOException {
    try {
      preparation.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the scratch database was prepared");
    } catch (ExecutionException e) {
      switch (e.getCause()) {
        case ScratchServerException failed -> throw failed;
        case IOException failed -> throw failed;
        case RuntimeException failed -> throw failed;
        case Error failed -> throw failed;
        default -> throw new IOException(e.getCause());
      }
    }
  }

  private static void awaitQuietly(FutureTask<Long> preparation) {
    boolean interrupted = false;
    while (true) {
      try {
        preparation.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static long preparedAt(FutureTask<Long> preparation, long otherwise) {
    return preparation.state() == Future.State.SUCCESS ? preparation.resultNow() : otherwise;
  }

  /**
   * The {@code pg_restore} command line of a dump streamed on standard input, in one job (a spooled one is
   * restored in sections: {@link PgRestoreRun#restoreInSections}). Never the password (it is in the pgpass file).
   */
  static List<String> restoreCommand(String pgRestore, DumpTarget owner) {
    List<String> command = new ArrayList<>(List.of(pgRestore, "--exit-on-error", "--no-owner", "--no-privileges",
        "--no-password"));
    command.addAll(PgRestoreRun.connection(owner));
    return command;
  }

  /**
   * {@code PGOPTIONS} of every connection of a restore: only settings a role without privileges may set
   * for its own session (a server-level one would make each connection fail).
   */
  static String sessionOptions(Tuning tuning) {
    return "-c synchronous_commit=off -c maintenance_work_mem=" + (tuning.maintenanceWorkMemBytes() >> 10) + "kB";
  }

  /** A read of the dump that {@link #withinTimeout} bounds. */
  private interface Reading<T> {
    T read() throws IOException;
  }

  /**
   * {@code reading} of {@code dump}, given the restore's timeout: a read that stalls (a store that stops
   * answering) is ended by closing the dump, as a streamed restore is ended by killing its client.
   */
  private <T> T withinTimeout(InputStream dump, Reading<T> reading) throws DumpFailedException, IOException {
    AtomicBoolean overran = new AtomicBoolean();
    ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
      overran.set(true);
      try {
        dump.close();
      } catch (IOException ignored) {
        // the read it was meant to end fails all the same
      }
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      return reading.read();
    } catch (IOException e) {
      if (overran.get()) {
        throw new DumpFailedException("the dump could not be read within " + timeout + " and was given up");
      }
      throw e;
    } finally {
      deadline.cancel(false);
    }
  }

  /** {@code bytes} in a new file only this user may read ({@link #privateFile}). */
  private static void write(Path file, byte[] bytes) throws IOException {
    Files.deleteIfExists(file);
    Files.write(privateFile(file), bytes);
  }

  /** Creates {@code file}, in the test's private folder, readable by this user only: it holds the customer's data. */
  private static Path privateFile(Path file) throws IOException {
    return Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
  }

  /**
   * Copies the dump into {@code spool} (a file only this user may read, in the test's private folder) and
   * returns null; or, once the scratch folder's free space would fall below the tuning's minimum, stops
   * and returns the part spooled followed by the rest of the dump, to be streamed.
   */
  private InputStream spool(InputStream dump, Path spool, Path scratch) throws IOException {
    FileStore store = Files.getFileStore(scratch);
    long checkEvery = 64L << 20;
    long sinceCheck = checkEvery;
    byte[] buffer = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(privateFile(spool))) {
      for (int n; (n = dump.read(buffer)) > 0; ) {
        if (sinceCheck >= checkEvery) {
          if (store.getUsableSpace() - checkEvery < tuning.spoolMinFreeBytes()) {
            out.write(buffer, 0, n);
            out.close();
            log.info("restore test: less than {} MiB free in {}, the dump is streamed to pg_restore instead of spooled",
                tuning.spoolMinFreeBytes() >> 20, scratch);
            return new InputsInSequence(Files.newInputStream(spool), dump);
          }
          sinceCheck = 0;
        }
        out.write(buffer, 0, n);
        sinceCheck += n;
      }
    }
    return null;
  }

  @Override
  public void drop(String database, Path scratch) throws ScratchServerException, IOException {
    String name = identifier(database);
    admin("drop database if exists " + name + " with (force);\ndrop role if exists " + name + ";\n", scratch);
  }

  @Override
  public List<String> otherDatabases(String scratchPrefix, Path scratch) throws ScratchServerException, IOException {
    // names in hex: unaligned output would split a name holding a line break
    String out = admin("select encode(convert_to(datname, 'UTF8'), 'hex') from pg_database where not datistemplate "
        + "and datname not in ('postgres', current_database()) and left(datname, " + scratchPrefix.length() + ") <> '"
        + scratchPrefix.replace("'", "''") + "' order by 1;\n", scratch);
    return out.lines().filter(l -> !l.isBlank())
        .map(hex -> new String(HexFormat.of().parseHex(hex.trim()), StandardCharsets.UTF_8)).toList();
  }

  /** Runs SQL (read from standard input) as the scratch server's administrator. */
  private String admin(String sql, Path scratch) throws ScratchServerException, IOException {
    List<String> command = new ArrayList<>(List.of(clients.psql(psql), "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
        "--set", "ON_ERROR_STOP=1", "--no-password"));
    command.addAll(PgRestoreRun.connection(server));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ExternalCommand.runWithSecretFile("psql", scratch.resolve("pgpass"), pgpass(server), Scrubber.hiding(server.password()), command,
          PostgresDumpEngine.environment(scratch.resolve("pgpass")), scratch, timeout,
          new ByteArrayInputStream(sql.getBytes(StandardCharsets.UTF_8)), out);
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Good for every database of the scratch server: the scratch ones are created as the tests go. */
  private static String pgpass(DumpTarget target) {
    return PostgresDumpEngine.pgpassLine(target.host(), target.port(), "*", target.user(), target.password());
  }

  /** Scratch names are a validated prefix and hex digits; quoted all the same. */
  private static String identifier(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
