package dev.backstop.worker.dump;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@code pg_dump} in custom format with the options customers are told to use for their own dumps. */
public class PostgresDumpEngine implements DumpEngine {

  private final String pgDump;
  private final Duration timeout;

  public PostgresDumpEngine(String pgDump, Duration timeout) {
    this.pgDump = pgDump;
    this.timeout = timeout;
  }

  @Override
  public String dumpFileName(String database) {
    return database + ".pgsql";
  }

  @Override
  public void dump(DumpTarget target, Path output, Path scratch) throws DumpFailedException {
    Path passFile = scratch.resolve("pgpass");
    ExternalCommand.runWithSecretFile("pg_dump", passFile, pgpassLine(target), command(target, output), environment(passFile),
        scratch, timeout);
  }

  /** The command line: names the server, database and user, never the password. */
  List<String> command(DumpTarget target, Path output) {
    return List.of(
        pgDump,
        "--clean", "--if-exists", "--format", "c",
        "--no-owner", "--no-privileges", "--no-comments",
        "--exclude-schema", "information_schema", "--exclude-schema", "^pg_*",
        "--no-password",
        "--host", target.host(), "--port", Integer.toString(target.port()),
        "--username", target.user(), "--dbname", target.database(),
        "--file", output.toString());
  }

  static Map<String, String> environment(Path passFile) {
    return Map.of(
        "PGPASSFILE", passFile.toString(),
        "PGCONNECT_TIMEOUT", "15",
        "PGAPPNAME", "backstop-dump");
  }

  /** One .pgpass line; ':' and '\' in any field are escaped as libpq expects. */
  static String pgpassLine(DumpTarget target) {
    return String.join(":", escape(target.host()), Integer.toString(target.port()), escape(target.database()),
        escape(target.user()), escape(target.password())) + "\n";
  }

  private static String escape(String field) {
    return field.replace("\\", "\\\\").replace(":", "\\:");
  }

}
