package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.RestoreEngine.Restored;
import dev.backstop.worker.engine.Scrubber;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The steps every {@code pg_restore} of a custom-format dump takes, into a scratch server's database
 * ({@link PostgresRestoreEngine}) or into one an operator named ({@link PostgresTargetRestore}): the
 * client chosen by the dump's archive version, the tool run as the database's user with the password
 * only in a 0600 pgpass file in the scratch folder, what the tools say scrubbed, and the restored
 * tables and rows counted. One serves one restore: its environment names that restore's scratch folder.
 */
final class PgRestoreRun {

  /** The dump, buffered and still unread, and the {@code pg_restore} its archive version calls for. */
  record Chosen(InputStream dump, String pgRestore) {}

  private final String psql;
  private final Duration timeout;
  private final Map<String, String> environment;
  private final Scrubber scrubber;

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
