package dev.backstop.worker.dump;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code pg_restore} of a custom-format dump read from a pipe, as the README tells customers to restore
 * ({@code --no-owner --no-privileges}), stopping at the first error ({@code --exit-on-error}): a dump
 * that restores only in part does not pass.
 */
public class PostgresRestoreEngine implements RestoreEngine {

  /** Counts the restored tables and, exactly, their rows, in one query. */
  static final String COUNT_TABLES_AND_ROWS = "select count(*), coalesce(sum((xpath('/row/c/text()', query_to_xml("
      + "format('select count(*) as c from %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0) "
      + "from pg_tables where schemaname not in ('pg_catalog', 'information_schema')";

  private final String psql;
  private final String pgRestore;
  private final DumpTarget server;
  private final Duration timeout;

  /** @param server the scratch server; its database is the one to connect to for creating and dropping others */
  public PostgresRestoreEngine(String psql, String pgRestore, DumpTarget server, Duration timeout) {
    this.psql = psql;
    this.pgRestore = pgRestore;
    this.server = server;
    this.timeout = timeout;
  }

  @Override
  public String serverName(Path scratch) throws DumpFailedException, IOException {
    return "PostgreSQL " + query(server.database(), "show server_version", scratch).trim().split(" ")[0];
  }

  @Override
  public Restored restore(String database, InputStream dump, Path scratch) throws DumpFailedException, IOException {
    String quoted = "\"" + database.replace("\"", "\"\"") + "\"";
    query(server.database(), "drop database if exists " + quoted + " with (force)", scratch);
    query(server.database(), "create database " + quoted, scratch);
    try {
      List<String> command = new ArrayList<>(List.of(pgRestore, "--exit-on-error", "--no-owner", "--no-privileges",
          "--no-password"));
      command.addAll(connection(database));
      ExternalCommand.runWithSecretFile("pg_restore", scratch.resolve("pgpass"), pgpass(), command,
          PostgresDumpEngine.environment(scratch.resolve("pgpass")), scratch, timeout, dump, OutputStream.nullOutputStream());
      String[] counts = query(database, COUNT_TABLES_AND_ROWS, scratch).trim().split("\\|");
      return new Restored(Integer.parseInt(counts[0]), Long.parseLong(counts[1]));
    } finally {
      query(server.database(), "drop database if exists " + quoted + " with (force)", scratch);
    }
  }

  private String query(String database, String sql, Path scratch) throws DumpFailedException, IOException {
    List<String> command = new ArrayList<>(List.of(psql, "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
        "--set", "ON_ERROR_STOP=1", "--no-password", "--command", sql));
    command.addAll(connection(database));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExternalCommand.runWithSecretFile("psql", scratch.resolve("pgpass"), pgpass(), command,
        PostgresDumpEngine.environment(scratch.resolve("pgpass")), scratch, timeout, out);
    return out.toString(StandardCharsets.UTF_8);
  }

  private List<String> connection(String database) {
    return List.of("--host", server.host(), "--port", Integer.toString(server.port()), "--username", server.user(),
        "--dbname", database);
  }

  /** Good for every database of the scratch server: the scratch ones are created as the restore goes. */
  private String pgpass() {
    return PostgresDumpEngine.pgpassLine(new DumpTarget(server.host(), server.port(), "*", server.user(), server.password()));
  }
}
