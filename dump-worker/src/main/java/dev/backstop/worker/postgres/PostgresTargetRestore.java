package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.RestoreEngine.Restored;
import dev.backstop.worker.engine.Scrubber;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code pg_restore} of a custom-format dump into a database an operator named (a point-in-time restore
 * "into", issue #17), as its own user: the database must exist and be empty, and it is never created,
 * dropped or cleaned here. The values reach the tools only as a {@link DumpTarget} (which cannot hold a
 * value breaking {@code ConnectionValues}' rules), the password only through a 0600 pgpass file, and what
 * the tools say is scrubbed of it.
 *
 * <p>The restore runs as one transaction ({@code --single-transaction}) with the dump on standard input:
 * a restore that fails, or whose worker dies (the pipe closes, the server rolls back), leaves the target as
 * empty as it found it, so that the job can be redone.
 */
public final class PostgresTargetRestore {

  /**
   * What the target holds outside the system schemas that a restore would collide with or add to:
   * relations (tables, partitioned tables, sequences, views, materialized views, foreign tables) and
   * functions, neither counting what an extension installed.
   */
  static final String USER_OBJECTS = "select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
      + "where c.relkind in ('r', 'p', 'S', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema') "
      + "and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%' "
      + "and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'))"
      + " || '|' || (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
      + "where n.nspname not in ('pg_catalog', 'information_schema') "
      + "and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'))";

  /** The target is not one to restore into (not empty); the reason names it, never its password. */
  public static final class Refused extends Exception {
    public Refused(String message) {
      super(message);
    }
  }

  private final String psql;
  private final PostgresClients clients;
  private final Duration timeout;
  private final Duration connectTimeout;

  /**
   * @param clients which {@code pg_restore} reads the dump (the newest installed, at least the dump's)
   * @param timeout a restore running longer than this is stopped and fails
   */
  public PostgresTargetRestore(String psql, PostgresClients clients, Duration timeout, Duration connectTimeout) {
    this.psql = psql;
    this.clients = clients;
    this.timeout = timeout;
    this.connectTimeout = connectTimeout;
  }

  /**
   * Refuses a target that holds anything a restore would collide with.
   *
   * @throws Refused it is not empty
   * @throws DumpFailedException it cannot be reached or logged into (psql's scrubbed reason)
   */
  public void requireEmpty(DumpTarget target, Path scratch) throws Refused, DumpFailedException, IOException {
    String[] counts = run(target, scratch).query(target, USER_OBJECTS, scratch).trim().split("\\|");
    long relations = Long.parseLong(counts[0].trim());
    long functions = Long.parseLong(counts[1].trim());
    if (relations > 0 || functions > 0) {
      throw new Refused("database " + target.database() + " on " + target.host() + ":" + target.port() + " is not empty ("
          + relations + " tables, sequences or views and " + functions + " functions outside the system schemas): "
          + "a point-in-time restore goes only into an empty database; it was left untouched");
    }
  }

  /**
   * Checks the target is empty, then restores the dump read from {@code dumpStream} into it and counts
   * the tables and rows it then holds.
   *
   * @param scratch a private folder for the pgpass file and the tools' error output
   * @throws Refused the target is not empty
   * @throws DumpFailedException the target cannot be reached, or {@code pg_restore} failed (its scrubbed reason)
   */
  public Restored restore(DumpTarget target, InputStream dumpStream, Path scratch)
      throws Refused, DumpFailedException, IOException {
    requireEmpty(target, scratch);
    PgRestoreRun.Chosen chosen;
    try {
      chosen = PgRestoreRun.choose(clients, dumpStream);
    } catch (PostgresClients.ClientMissingException e) {
      throw new DumpFailedException(e.getMessage());
    }
    return run(target, scratch).restore(target, command(chosen.pgRestore(), target), null, chosen.dump(), scratch);
  }

  /** As a streamed restore test runs it, in one transaction, the dump on standard input; never the password. */
  static List<String> command(String pgRestore, DumpTarget target) {
    List<String> command = new ArrayList<>(PostgresRestoreEngine.restoreCommand(pgRestore, target));
    command.add(1, "--single-transaction");
    return command;
  }

  private PgRestoreRun run(DumpTarget target, Path scratch) {
    return new PgRestoreRun(clients.psql(psql), timeout, PostgresDumpEngine.environment(scratch.resolve("pgpass"), connectTimeout),
        Scrubber.hiding(target.password()));
  }
}
