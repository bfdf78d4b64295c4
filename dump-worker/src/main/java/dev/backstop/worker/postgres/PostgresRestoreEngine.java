package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.engine.Scrubber;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code pg_restore} of a custom-format dump read from a pipe, as the README tells customers to restore
 * ({@code --no-owner --no-privileges}), stopping at the first error ({@code --exit-on-error}): a dump
 * that restores only in part does not pass.
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

  private static final SecureRandom RANDOM = new SecureRandom();

  private final String psql;
  private final PostgresClients clients;
  private final DumpTarget server;
  private final Duration timeout;

  /** Always restores with {@code pgRestore}, whatever the dump's version. */
  public PostgresRestoreEngine(String psql, String pgRestore, DumpTarget server, Duration timeout) {
    this(psql, PostgresClients.fixed("pg_dump", pgRestore), server, timeout);
  }

  /**
   * @param clients which pg_restore a dump's version calls for
   * @param server the scratch server's administrator; its database is the one to connect to for creating and dropping others
   */
  public PostgresRestoreEngine(String psql, PostgresClients clients, DumpTarget server, Duration timeout) {
    this.psql = psql;
    this.clients = clients;
    this.server = server;
    this.timeout = timeout;
  }

  @Override
  public String serverName(Path scratch) throws ScratchServerException, IOException {
    return "PostgreSQL " + admin("show server_version", scratch).trim().split(" ")[0];
  }

  @Override
  public Restored restore(String database, InputStream dumpStream, Path scratch)
      throws ScratchServerException, DumpFailedException, IOException {
    InputStream dump = new java.io.BufferedInputStream(dumpStream, 1 << 16);
    dump.mark(16);
    int dumpMajor = PostgresClients.restoreMajorFor(dump.readNBytes(8));
    dump.reset();
    String pgRestore;
    try {
      pgRestore = clients.pgRestore(dumpMajor);
    } catch (PostgresClients.ClientMissingException e) {
      // this worker's shortcoming, not the backup's: the test waits for a worker that has the client
      throw new ScratchServerException(e.getMessage());
    }
    String password = HexFormat.of().formatHex(randomBytes());
    drop(database, scratch);
    String name = identifier(database);
    // the password travels on psql's standard input, never its command line
    // the role owns its database's public schema too: on a cluster whose template keeps that schema
    // the administrator's (upgraded from before PostgreSQL 15), it could not create anything there
    admin("create role " + name + " login nosuperuser nocreatedb nocreaterole noinherit password '" + password + "';\n"
        + "create database " + name + " owner " + name + ";\n"
        + "\\connect " + name + "\n"
        + "alter schema public owner to " + name + ";\n", scratch);
    try {
      DumpTarget owner = new DumpTarget(server.host(), server.port(), database, database, password);
      List<String> command = new ArrayList<>(List.of(pgRestore, "--exit-on-error", "--no-owner", "--no-privileges",
          "--no-password"));
      command.addAll(connection(owner));
      ExternalCommand.runWithSecretFile("pg_restore", scratch.resolve("pgpass"), PostgresDumpEngine.pgpassLine(owner),
          Scrubber.hiding(password, server.password()), command,
          PostgresDumpEngine.environment(scratch.resolve("pgpass")), scratch, timeout, dump, OutputStream.nullOutputStream());
      String[] counts = query(owner, COUNT_TABLES_AND_ROWS, scratch).trim().split("\\|");
      return new Restored(Integer.parseInt(counts[0]), Long.parseLong(counts[1]));
    } finally {
      dropAfterTest(database, scratch);
    }
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
    List<String> command = new ArrayList<>(List.of(psql, "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
        "--set", "ON_ERROR_STOP=1", "--no-password"));
    command.addAll(connection(server));
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

  private String query(DumpTarget as, String sql, Path scratch) throws DumpFailedException, IOException {
    List<String> command = new ArrayList<>(List.of(psql, "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
        "--set", "ON_ERROR_STOP=1", "--no-password", "--command", sql));
    command.addAll(connection(as));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExternalCommand.runWithSecretFile("psql", scratch.resolve("pgpass"), PostgresDumpEngine.pgpassLine(as),
        Scrubber.hiding(as.password(), server.password()), command,
        PostgresDumpEngine.environment(scratch.resolve("pgpass")), scratch, timeout, out);
    return out.toString(StandardCharsets.UTF_8);
  }

  private static List<String> connection(DumpTarget target) {
    return List.of("--host", target.host(), "--port", Integer.toString(target.port()), "--username", target.user(),
        "--dbname", target.database());
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
