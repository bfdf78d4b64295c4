package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.Scrubber;
import dev.backstop.worker.engine.TableSpotter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * {@code pg_dump} in custom format with the options customers are told to use for their own dumps,
 * uncompressed ({@code -Z0}): its built-in gzip runs on one thread at a sixth of the dump's speed,
 * and the archive compresses better and in parallel. Written to a pipe, the dump has no data offsets
 * in its table of contents; {@code pg_restore} finds each table's data by reading on, which it does
 * for a sequential restore and, from a file, for {@code --jobs}.
 */
public class PostgresDumpEngine implements DumpEngine {

  @Override
  public FailureClassifier failures() {
    return PostgresFailures.CLASSIFIER;
  }

  /**
   * The tables a dump defines and a restore recreates: ordinary tables and partitions (each once, their
   * partitioned parents not), outside the schemas pg_dump leaves out ({@code information_schema},
   * {@code pg_*}), and not an extension's own (its {@code CREATE EXTENSION} recreates those). The
   * restore test counts the same way ({@link PostgresRestoreEngine#COUNT_TABLES_AND_ROWS}).
   */
  static final String COUNT_TABLES = "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
      + "where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%' "
      + "and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')";

  /**
   * A table's entry in a custom-format dump's table of contents: its description, {@code TABLE}, written
   * as pg_dump writes strings (a sign byte, a 4-byte little-endian length, the bytes). {@code TABLE DATA}
   * and the rest have other lengths, and text in the dump never holds these zero bytes.
   */
  static final byte[] TABLE_ENTRY = {0, 5, 0, 0, 0, 'T', 'A', 'B', 'L', 'E'};

  private final String pgDump;
  private final String psql;
  private final Duration timeout;
  private final Duration connectTimeout;

  public PostgresDumpEngine(String pgDump, Duration timeout) {
    this(pgDump, "psql", timeout, Duration.ofSeconds(15));
  }

  public PostgresDumpEngine(String pgDump, String psql, Duration timeout) {
    this(pgDump, psql, timeout, Duration.ofSeconds(15));
  }

  /**
   * @param psql the client that counts the tables before a dump
   * @param connectTimeout how long pg_dump and psql wait for the server to answer their connection
   */
  public PostgresDumpEngine(String pgDump, String psql, Duration timeout, Duration connectTimeout) {
    this.pgDump = pgDump;
    this.psql = psql;
    this.timeout = timeout;
    this.connectTimeout = connectTimeout;
  }

  @Override
  public String dumpFileName(String database) {
    return database + ".pgsql";
  }

  @Override
  public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException {
    Path passFile = scratch.resolve("pgpass");
    ExternalCommand.runWithSecretFile("pg_dump", passFile, pgpassLine(target), Scrubber.hiding(target.password()),
        command(target), environment(passFile, connectTimeout), scratch, timeout, output);
  }

  @Override
  public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    String out = ExternalCommand.output("psql", scratch, "pgpass", pgpassLine(target), Scrubber.hiding(target.password()),
        passFile -> List.of(psql, "--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--no-password",
            "--host", target.host(), "--port", Integer.toString(target.port()), "--username", target.user(),
            "--dbname", target.database(), "--command", COUNT_TABLES),
        passFile -> environment(passFile, connectTimeout), DumpEngine.countTimeout(timeout)).trim();
    try {
      return OptionalInt.of(Integer.parseInt(out));
    } catch (NumberFormatException e) {
      throw new DumpFailedException("could not count the tables before the dump: unexpected answer from psql");
    }
  }

  @Override
  public TableSpotter spotTables(OutputStream output) {
    return new TableSpotter(output, TABLE_ENTRY);
  }

  /** The command line: names the server, database and user, never the password. */
  List<String> command(DumpTarget target) {
    return List.of(
        pgDump,
        "--clean", "--if-exists", "--format", "c", "--compress", "0",
        "--no-owner", "--no-privileges", "--no-comments",
        "--exclude-schema", "information_schema", "--exclude-schema", "^pg_*",
        "--no-password",
        "--host", target.host(), "--port", Integer.toString(target.port()),
        "--username", target.user(), "--dbname", target.database());
  }

  static Map<String, String> environment(Path passFile) {
    return environment(passFile, Duration.ofSeconds(15));
  }

  static Map<String, String> environment(Path passFile, Duration connectTimeout) {
    return Map.of(
        "PGPASSFILE", passFile.toString(),
        "PGCONNECT_TIMEOUT", Long.toString(Math.max(2, connectTimeout.toSeconds())),
        "PGAPPNAME", "backstop-dump");
  }

  /**
   * One .pgpass line, read by libpq's own rules: fields split at unescaped {@code :}, a {@code \\}
   * escaping the next character, the line ending at the first line break (so none may be written: the
   * rest would be a line of its own). Spaces, {@code #}, quotes and the rest are taken as they are.
   */
  static String pgpassLine(DumpTarget target) {
    return pgpassLine(target.host(), target.port(), escapePgpass(target.database()), target.user(), target.password());
  }

  /** A line whose database field is given already escaped ({@code *} matches every database). */
  public static String pgpassLine(String host, int port, String escapedDatabase, String user, String password) {
    for (String field : List.of(host, user, password)) {
      if (dev.backstop.kit.addon.ConnectionValues.hasControl(field)) {
        throw new IllegalArgumentException("a value with a line break or control character cannot go in a pgpass line");
      }
    }
    return String.join(":", escapePgpass(host), Integer.toString(port), escapedDatabase, escapePgpass(user),
        escapePgpass(password)) + "\n";
  }

  public static String escapePgpass(String field) {
    return field.replace("\\", "\\\\").replace(":", "\\:");
  }

}
