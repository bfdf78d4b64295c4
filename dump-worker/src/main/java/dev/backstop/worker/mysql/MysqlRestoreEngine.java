package dev.backstop.worker.mysql;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.RestoreEngine;
import dev.backstop.worker.engine.Scrubber;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The {@code mysql} client loading a dump as the README tells customers to: it stops at the first
 * failing statement (no {@code --force}), so a dump that restores only in part does not pass. MySQL's
 * and MariaDB's clients both take these options.
 *
 * <p>A restore runs what the dump's authors wrote (triggers, routines, views, events), so it never
 * runs as the scratch server's administrator. Each test gets a user of its own with every privilege on
 * its scratch database and none elsewhere, a random password (given on the client's standard input and
 * in a private option file, never argv), dropped with the database. The dump is read through
 * {@link MysqlDumpFilter}: the {@code DEFINER} clauses are removed, so that the restoring user, who may
 * act for nobody else, becomes the definer of views, triggers, routines and events; and a statement
 * that leaves the scratch database ({@code CREATE DATABASE}, {@code USE}) fails the test before it runs.
 * mysqldump writes each table's triggers after its rows, so no customer code runs while the data loads;
 * the scratch server must run with the event scheduler off, so that dumped events never fire, and
 * without binary logging (or with {@code log_bin_trust_function_creators}), since its user may not
 * create functions a binary log would refuse.
 *
 * <p>The dump is read with a session prelude ({@link MysqlDumpFilter#SESSION_PRELUDE}: no unique and
 * foreign-key checks; autocommit left on, see there). By default its rows load over two clients
 * ({@link RowSplitter}, {@link TwoConnectionLoad}): one {@code mysql} session keeps one core of the scratch
 * server busy, and a restore test should keep up with the dump. Server-wide settings
 * ({@code innodb_flush_log_at_trx_commit}, {@code innodb_doublewrite}, no binary log) are the scratch
 * server's configuration (README).
 */
public class MysqlRestoreEngine implements RestoreEngine {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MysqlRestoreEngine.class);

  @Override
  public FailureClassifier failures() {
    return MysqlFailures.CLASSIFIER;
  }

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private final String mysql;
  private final DumpTarget server;
  private final Duration timeout;
  private final int connections;

  /** Two connections load the rows (see {@link #MysqlRestoreEngine(String, DumpTarget, Duration, int)}). */
  public MysqlRestoreEngine(String mysql, DumpTarget server, Duration timeout) {
    this(mysql, server, timeout, 2);
  }

  /**
   * @param connections 1: the dump goes to one {@code mysql} client, as customers restore it; 2: its rows are split
   *     between two clients ({@link RowSplitter}), the rest on the first in the dump's order, so that the scratch
   *     server loads on two cores
   */
  public MysqlRestoreEngine(String mysql, DumpTarget server, Duration timeout, int connections) {
    if (connections < 1 || connections > 2) {
      throw new IllegalArgumentException("a MySQL restore test loads over 1 or 2 connections, not " + connections);
    }
    this.mysql = mysql;
    this.server = server;
    this.timeout = timeout;
    this.connections = connections;
  }

  @Override
  public String serverName(Path scratch) throws ScratchServerException, IOException {
    String version;
    try {
      version = query(null, "select version()", scratch).trim();
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
    return (version.contains("MariaDB") ? "MariaDB " : "MySQL ") + version.split("-")[0];
  }

  @Override
  public Restored restore(String database, InputStream dump, Path scratch)
      throws ScratchServerException, DumpFailedException, IOException {
    long preparing = System.nanoTime();
    String quoted = quote(database);
    String password = HexFormat.of().formatHex(randomBytes());
    String user = account(database);
    drop(database, scratch);
    try {
      // on standard input: the password must not be in argv
      admin("create database " + quoted + ";\n"
          + "create user " + user + " identified by '" + password + "';\n"
          + "grant all privileges on " + quoted + ".* to " + user + ";\n", scratch);
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
    long loading = System.nanoTime();
    long counting = 0;
    try {
      DumpTarget restorer = new DumpTarget(server.host(), server.port(), database, scratchUser(database), password);
      Scrubber scrubber = Scrubber.hiding(password, server.password());
      try {
        if (connections == 1) {
          Path options = scratch.resolve("restore.cnf");
          ExternalCommand.runWithSecretFile("mysql", options, MysqlDumpEngine.optionFile(restorer), scrubber,
              restoreCommand(options, database), Map.of(), scratch, timeout, MysqlDumpFilter.forRestore(dump),
              OutputStream.nullOutputStream());
        } else {
          // each client its own folder: its option file and its error output
          Path[] folders = {scratch.resolve("load-1"), scratch.resolve("load-2")};
          for (Path folder : folders) {
            java.nio.file.Files.createDirectories(folder);
          }
          TwoConnectionLoad.Client[] clients = new TwoConnectionLoad.Client[2];
          for (int c = 0; c < 2; c++) {
            Path options = folders[c].resolve("restore.cnf");
            Path folder = folders[c];
            // --unbuffered: each sync's answer is printed as it comes, not when the output buffer fills
            List<String> command = restoreCommand(options, database);
            command.addAll(List.of("--unbuffered", "--skip-column-names"));
            clients[c] = (input, output, exited) -> ExternalCommand.runWithSecretFile("mysql", options,
                MysqlDumpEngine.optionFile(restorer), scrubber, command, Map.of(), folder, timeout, input, output, exited);
          }
          TwoConnectionLoad.load(new MysqlDumpFilter(dump), MysqlDumpFilter.SESSION_PRELUDE, MysqlDumpFilter.SESSION_END,
              clients[0], clients[1]);
        }
      } catch (MysqlDumpFilter.ForbiddenStatement e) {
        throw new DumpFailedException(e.getMessage());
      }
      counting = System.nanoTime();
      // names in hex: the client's batch output escapes tabs, newlines and backslashes in them
      List<String> tables = query(null, "select hex(table_name) from information_schema.tables where table_type = 'BASE TABLE'"
          + " and table_schema = '" + database.replace("'", "''") + "'", scratch).lines().filter(l -> !l.isBlank())
          .map(hex -> new String(HexFormat.of().parseHex(hex.trim()), StandardCharsets.UTF_8)).toList();
      long rows = 0;
      // one query per few hundred tables keeps each statement of a reasonable size
      for (int from = 0; from < tables.size(); from += 200) {
        List<String> counts = new ArrayList<>();
        for (String table : tables.subList(from, Math.min(tables.size(), from + 200))) {
          counts.add("select count(*) as c from " + quoted + "." + quote(table));
        }
        rows += Long.parseLong(query(null, "select coalesce(sum(c), 0) from (" + String.join(" union all ", counts) + ") n",
            scratch).trim());
      }
      return new Restored(tables.size(), rows);
    } finally {
      long dropping = System.nanoTime();
      dropAfterTest(database, scratch);
      // where a slow restore test's time went: the verifier's log line says only the whole
      log.info("restore test into {}: prepared {} ms, mysql over {} {} {} ms (the archive read back meanwhile), counted {} ms,"
          + " dropped {} ms", database, (loading - preparing) / 1_000_000, connections,
          connections == 1 ? "connection" : "connections", ((counting == 0 ? dropping : counting) - loading) / 1_000_000,
          counting == 0 ? 0 : (dropping - counting) / 1_000_000, (System.nanoTime() - dropping) / 1_000_000);
    }
  }

  @Override
  public void drop(String database, Path scratch) throws ScratchServerException, IOException {
    try {
      admin("drop database if exists " + quote(database) + ";\ndrop user if exists " + account(database) + ";\n", scratch);
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
  }

  @Override
  public List<String> otherDatabases(String scratchPrefix, Path scratch) throws ScratchServerException, IOException {
    try {
      return query(null, "select hex(schema_name) from information_schema.schemata where schema_name not in "
          + "('mysql', 'information_schema', 'performance_schema', 'sys') and left(schema_name, " + scratchPrefix.length()
          + ") <> '" + scratchPrefix.replace("\\", "\\\\").replace("'", "''") + "' order by 1", scratch).lines()
          .filter(l -> !l.isBlank()).map(hex -> new String(HexFormat.of().parseHex(hex.trim()), StandardCharsets.UTF_8)).toList();
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
  }

  /**
   * The scratch user of a test, derived from its database's name so that a leftover is dropped with it:
   * at most 32 characters, MySQL's limit.
   */
  public static String scratchUser(String database) {
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(database.getBytes(StandardCharsets.UTF_8));
      return "backstop_r_" + HexFormat.of().formatHex(hash, 0, 10);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The account of that user: any host, since the worker may reach the scratch server from anywhere. */
  private static String account(String database) {
    return "'" + scratchUser(database) + "'@'%'";
  }

  /** Runs SQL read from standard input as the scratch server's administrator. */
  private void admin(String sql, Path scratch) throws DumpFailedException, IOException {
    ExternalCommand.runWithSecretFile("mysql", scratch.resolve("my.cnf"), MysqlDumpEngine.optionFile(server),
        Scrubber.hiding(server.password()), command(scratch, null), Map.of(), scratch, timeout,
        new java.io.ByteArrayInputStream(sql.getBytes(StandardCharsets.UTF_8)), OutputStream.nullOutputStream());
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  private String query(String database, String sql, Path scratch) throws DumpFailedException, IOException {
    List<String> command = command(scratch, database);
    command.addAll(List.of("--batch", "--skip-column-names", "--execute", sql));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExternalCommand.runWithSecretFile("mysql", scratch.resolve("my.cnf"), MysqlDumpEngine.optionFile(server),
        Scrubber.hiding(server.password()), command, Map.of(), scratch, timeout, out);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The client loading a dump as the test's own user: stops at the first failing statement (no {@code --force}). */
  private List<String> restoreCommand(Path options, String database) {
    return new ArrayList<>(List.of(mysql, "--defaults-extra-file=" + options, "--protocol=TCP", "--database=" + database));
  }

  /** The option file first (the client only reads it there), never the password. */
  private List<String> command(Path scratch, String database) {
    List<String> command = new ArrayList<>(List.of(mysql, "--defaults-extra-file=" + scratch.resolve("my.cnf"),
        "--protocol=TCP"));
    if (database != null) {
      command.add("--database=" + database);
    }
    return command;
  }

  private static String quote(String identifier) {
    return "`" + identifier.replace("`", "``") + "`";
  }
}
