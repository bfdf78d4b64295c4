package dev.backstop.worker.dump;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code pg_dump} in custom format with the options customers are told to use for their own dumps,
 * uncompressed ({@code -Z0}): its built-in gzip runs on one thread at a sixth of the dump's speed,
 * and the archive compresses better and in parallel. Written to a pipe, the dump has no data offsets
 * in its table of contents; {@code pg_restore} finds each table's data by reading on, which it does
 * for a sequential restore and, from a file, for {@code --jobs}.
 */
public class PostgresDumpEngine implements DumpEngine {

  private final String pgDump;
  private final Duration timeout;
  private final Duration connectTimeout;

  public PostgresDumpEngine(String pgDump, Duration timeout) {
    this(pgDump, timeout, Duration.ofSeconds(15));
  }

  /** @param connectTimeout how long pg_dump waits for the server to answer its connection */
  public PostgresDumpEngine(String pgDump, Duration timeout, Duration connectTimeout) {
    this.pgDump = pgDump;
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
    ExternalCommand.runWithSecretFile("pg_dump", passFile, pgpassLine(target), command(target), environment(passFile, connectTimeout),
        scratch, timeout, output);
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

  /** One .pgpass line; ':' and '\' in any field are escaped as libpq expects. */
  static String pgpassLine(DumpTarget target) {
    return String.join(":", escape(target.host()), Integer.toString(target.port()), escape(target.database()),
        escape(target.user()), escape(target.password())) + "\n";
  }

  private static String escape(String field) {
    return field.replace("\\", "\\\\").replace(":", "\\:");
  }

}
