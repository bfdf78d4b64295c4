package dev.backstop.worker.dump;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code mysqldump} (MySQL's, or MariaDB's {@code mariadb-dump} behind the same name) with one
 * consistent snapshot per dump ({@code --single-transaction}) and the options customers are told to
 * use. The credentials and the server go in a private option file ({@code --defaults-extra-file}).
 */
public class MysqlDumpEngine implements DumpEngine {

  private final String mysqldump;
  private final Duration timeout;
  private volatile Boolean mariadbClient;

  public MysqlDumpEngine(String mysqldump, Duration timeout) {
    this.mysqldump = mysqldump;
    this.timeout = timeout;
  }

  @Override
  public String dumpFileName(String database) {
    return database + ".sql";
  }

  @Override
  public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException {
    Path options = scratch.resolve("my.cnf");
    ExternalCommand.runWithSecretFile("mysqldump", options, optionFile(target), command(target, options, isMariadbClient()),
        Map.of(), scratch, timeout, output);
  }

  /**
   * The command line: the option file first (mysqldump only reads it there), never the password.
   * {@code --column-statistics=0} exists only in MySQL's own client; MariaDB's refuses it.
   *
   * <p>{@code --default-character-set=binary}, as mydumper does by default: the server sends each
   * column's bytes as stored, without converting them to the connection's character set, and the dump
   * says {@code SET NAMES binary}, so a restore stores those same bytes back, whatever the columns'
   * character sets. It halves mysqldump's own CPU (escaping byte by byte instead of checking multi-byte
   * characters), which on a busy host is what a dump waits for (docs/benchmarks.md).
   */
  List<String> command(DumpTarget target, Path options, boolean mariadb) {
    List<String> command = new ArrayList<>(List.of(
        mysqldump, "--defaults-extra-file=" + options,
        "--protocol=TCP", "--single-transaction", "--quick", "--no-tablespaces",
        "--routines", "--events", "--triggers", "--default-character-set=binary"));
    if (!mariadb) {
      command.add("--column-statistics=0");
    }
    command.add(target.database());
    return command;
  }

  /** A {@code [client]} option file; values quoted, with '\' and '"' escaped. */
  static String optionFile(DumpTarget target) {
    return "[client]\n"
        + "host=" + quote(target.host()) + "\n"
        + "port=" + target.port() + "\n"
        + "user=" + quote(target.user()) + "\n"
        + "password=" + quote(target.password()) + "\n";
  }

  private static String quote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private boolean isMariadbClient() throws DumpFailedException {
    if (mariadbClient == null) {
      try {
        Process process = new ProcessBuilder(mysqldump, "--version").redirectErrorStream(true).start();
        String version = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(30, TimeUnit.SECONDS);
        mariadbClient = version.contains("MariaDB");
      } catch (IOException e) {
        throw new DumpFailedException("mysqldump could not be started: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DumpFailedException("mysqldump was interrupted (worker shutting down)");
      }
    }
    return mariadbClient;
  }
}
