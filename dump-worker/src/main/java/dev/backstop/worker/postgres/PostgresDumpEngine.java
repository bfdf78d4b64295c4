package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpEngine;
import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import dev.backstop.worker.engine.OutputBuffer;
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

  /** The server's {@code server_version_num} and {@link #COUNT_TABLES}, separated by a space. */
  static final String PREFLIGHT = "select current_setting('server_version_num') || ' ' || (" + COUNT_TABLES + ")";

  /**
   * A table's entry in a custom-format dump's table of contents: its description, {@code TABLE}, written
   * as pg_dump writes strings (a sign byte, a 4-byte little-endian length, the bytes). {@code TABLE DATA}
   * and the rest have other lengths, and text in the dump never holds these zero bytes.
   */
  static final byte[] TABLE_ENTRY = {0, 5, 0, 0, 0, 'T', 'A', 'B', 'L', 'E'};

  private final PostgresClients clients;
  private final String psql;
  private final Duration timeout;
  private final Duration connectTimeout;
  /** Not null: pg_dump is stopped once its output has been silent this long. */
  private final Duration stallTimeout;
  /** Not null: the server is reached through its Unix socket in this folder, whatever the target's host. */
  private final Path socketDirectory;
  private final OutputBuffer outputBuffer;

  /** Always runs {@code pgDump}, whatever the server's version. */
  public PostgresDumpEngine(String pgDump, Duration timeout) {
    this(pgDump, "psql", timeout);
  }

  /** Always runs {@code pgDump}, whatever the server's version. */
  public PostgresDumpEngine(String pgDump, String psql, Duration timeout) {
    this(PostgresClients.fixed(pgDump, "pg_restore"), psql, timeout, Duration.ofSeconds(15));
  }

  /**
   * @param clients which pg_dump a server's version calls for
   * @param psql the client that counts the tables of a dump and asks the server's version ({@link PostgresClients#psql})
   * @param connectTimeout how long pg_dump and psql wait for the server to answer their connection
   */
  public PostgresDumpEngine(PostgresClients clients, String psql, Duration timeout, Duration connectTimeout) {
    this(clients, psql, timeout, connectTimeout, null, null, OutputBuffer.TOOLS_OWN);
  }

  /** @param stallTimeout pg_dump is stopped once nothing has come out of it for this long (a vanished host) */
  public PostgresDumpEngine(PostgresClients clients, String psql, Duration timeout, Duration connectTimeout,
      Duration stallTimeout) {
    this(clients, psql, timeout, connectTimeout, stallTimeout, OutputBuffer.TOOLS_OWN);
  }

  /** @param outputBuffer how pg_dump buffers what it writes to the worker */
  public PostgresDumpEngine(PostgresClients clients, String psql, Duration timeout, Duration connectTimeout,
      Duration stallTimeout, OutputBuffer outputBuffer) {
    this(clients, psql, timeout, connectTimeout, stallTimeout, null, outputBuffer);
  }

  private PostgresDumpEngine(PostgresClients clients, String psql, Duration timeout, Duration connectTimeout,
      Duration stallTimeout, Path socketDirectory, OutputBuffer outputBuffer) {
    this.clients = clients;
    this.psql = psql;
    this.timeout = timeout;
    this.connectTimeout = connectTimeout;
    this.stallTimeout = stallTimeout;
    this.socketDirectory = socketDirectory;
    this.outputBuffer = outputBuffer;
  }

  /**
   * The same dump, of a server that listens only on its Unix socket in {@code directory} (a point-in-time
   * restore's scratch server): libpq takes a host starting with {@code /} as a socket folder.
   */
  public PostgresDumpEngine throughSocket(Path directory) {
    return new PostgresDumpEngine(clients, psql, timeout, connectTimeout, stallTimeout, directory.toAbsolutePath(),
        outputBuffer);
  }

  private String host(DumpTarget target) {
    return socketDirectory != null ? socketDirectory.toString() : target.host();
  }

  @Override
  public String dumpFileName(String database) {
    return database + ".pgsql";
  }

  @Override
  public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException {
    dump(target, Preflight.NONE, output, scratch);
  }

  /** Runs the pg_dump of the server's version, as the preflight found it or, not found there, as asked now. */
  @Override
  public void dump(DumpTarget target, Preflight preflight, OutputStream output, Path scratch)
      throws DumpFailedException, IOException {
    String pgDump;
    try {
      if (clients.choosesByVersion()) {
        OptionalInt known = preflight.serverVersion();
        pgDump = clients.pgDump(known.isPresent() ? PostgresClients.majorOf(known.getAsInt()) : serverMajor(target, scratch));
      } else {
        pgDump = clients.pgDump(0);
      }
    } catch (PostgresClients.ClientMissingException e) {
      throw new DumpFailedException(e.getMessage());
    }
    Path passFile = scratch.resolve("pgpass");
    ExternalCommand.runWithSecretFile("pg_dump", passFile, pgpassLine(target), Scrubber.hiding(target.password()),
        outputBuffer.around(command(pgDump, target, host(target))), environment(passFile, connectTimeout), scratch, timeout,
        stallTimeout, output);
  }

  /** The server's major version ({@code server_version_num}), which decides the pg_dump to run. */
  int serverMajor(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    String out = query(target, scratch, "show server_version_num");
    try {
      return PostgresClients.majorOf(out);
    } catch (NumberFormatException e) {
      throw new DumpFailedException("could not tell the server's version before the dump: unexpected answer from psql");
    }
  }

  @Override
  public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    return preflight(target, scratch).expectedTables();
  }

  /** The table count and {@code server_version_num}, from one psql: {@link #PREFLIGHT}. */
  @Override
  public Preflight preflight(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    String[] out = query(target, scratch, PREFLIGHT).split(" ");
    try {
      if (out.length == 2) {
        return new Preflight(OptionalInt.of(Integer.parseInt(out[1])), OptionalInt.of(Integer.parseInt(out[0])));
      }
    } catch (NumberFormatException e) {
      // as any other answer
    }
    throw new DumpFailedException("could not count the tables before the dump: unexpected answer from psql");
  }

  /** One line of answer, asked with the addon's own credentials. */
  private String query(DumpTarget target, Path scratch, String sql) throws DumpFailedException, IOException {
    return ExternalCommand.output("psql", scratch, "pgpass", pgpassLine(target), Scrubber.hiding(target.password()),
        passFile -> List.of(clients.psql(psql), "--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--no-password",
            "--host", host(target), "--port", Integer.toString(target.port()), "--username", target.user(),
            "--dbname", target.database(), "--command", sql),
        passFile -> environment(passFile, connectTimeout), DumpEngine.countTimeout(timeout)).trim();
  }

  @Override
  public TableSpotter spotTables(OutputStream output) {
    return new TableSpotter(output, TABLE_ENTRY);
  }

  /** The command line of the fixed pg_dump: names the server, database and user, never the password. */
  List<String> command(DumpTarget target) {
    try {
      return command(clients.pgDump(0), target);
    } catch (PostgresClients.ClientMissingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The command line: names the server, database and user, never the password. */
  static List<String> command(String pgDump, DumpTarget target) {
    return command(pgDump, target, target.host());
  }

  /** @param host the target's host, or the folder of the Unix socket a scratch server listens on */
  private static List<String> command(String pgDump, DumpTarget target, String host) {
    return List.of(
        pgDump,
        "--clean", "--if-exists", "--format", "c", "--compress", "0",
        "--no-owner", "--no-privileges", "--no-comments",
        "--exclude-schema", "information_schema", "--exclude-schema", "^pg_*",
        "--no-password",
        "--host", host, "--port", Integer.toString(target.port()),
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
