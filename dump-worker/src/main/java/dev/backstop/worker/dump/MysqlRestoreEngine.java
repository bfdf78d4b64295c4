package dev.backstop.worker.dump;

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
 * <p>Unlike PostgreSQL's, the restore runs as the scratch server's administrator: the dump names the
 * definers of its views and triggers, and only a user allowed to act for others may create them.
 * mysqldump writes each table's triggers after its rows, so no customer code runs while the data loads;
 * the scratch server must run with the event scheduler off, so that dumped events never fire.
 */
public class MysqlRestoreEngine implements RestoreEngine {

  private final String mysql;
  private final DumpTarget server;
  private final Duration timeout;

  public MysqlRestoreEngine(String mysql, DumpTarget server, Duration timeout) {
    this.mysql = mysql;
    this.server = server;
    this.timeout = timeout;
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
    String quoted = quote(database);
    try {
      query(null, "drop database if exists " + quoted + "; create database " + quoted, scratch);
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
    try {
      ExternalCommand.runWithSecretFile("mysql", scratch.resolve("my.cnf"), MysqlDumpEngine.optionFile(server),
          command(scratch, database), Map.of(), scratch, timeout, dump, OutputStream.nullOutputStream());
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
      dropAfterTest(database, scratch);
    }
  }

  @Override
  public void drop(String database, Path scratch) throws ScratchServerException, IOException {
    try {
      query(null, "drop database if exists " + quote(database), scratch);
    } catch (DumpFailedException e) {
      throw new ScratchServerException(e.getMessage());
    }
  }

  private String query(String database, String sql, Path scratch) throws DumpFailedException, IOException {
    List<String> command = command(scratch, database);
    command.addAll(List.of("--batch", "--skip-column-names", "--execute", sql));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExternalCommand.runWithSecretFile("mysql", scratch.resolve("my.cnf"), MysqlDumpEngine.optionFile(server), command,
        Map.of(), scratch, timeout, out);
    return out.toString(StandardCharsets.UTF_8);
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
