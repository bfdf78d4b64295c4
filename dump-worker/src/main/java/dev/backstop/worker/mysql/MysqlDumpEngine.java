package dev.backstop.worker.mysql;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * {@code mysqldump} (MySQL's, or MariaDB's {@code mariadb-dump} behind the same name) with one
 * consistent snapshot per dump ({@code --single-transaction}) and the options customers are told to
 * use. The credentials and the server go in a private option file ({@code --defaults-extra-file}).
 */
public class MysqlDumpEngine implements DumpEngine {

  @Override
  public FailureClassifier failures() {
    return MysqlFailures.CLASSIFIER;
  }

  /** Base tables of one schema: what its dump must define. Views, sequences and system versioning aside. */
  static final String COUNT_TABLES = "select count(*) from information_schema.tables where table_type = 'BASE TABLE' "
      + "and table_schema = ";

  private final String mysqldump;
  private final String mysql;
  private final Duration timeout;
  /** Not null: mysqldump is stopped once its output has been silent this long. */
  private final Duration stallTimeout;
  private final OutputBuffer outputBuffer;
  private volatile Boolean mariadbClient;

  public MysqlDumpEngine(String mysqldump, Duration timeout) {
    this(mysqldump, "mysql", timeout);
  }

  /** @param mysql the client that counts the tables before a dump */
  public MysqlDumpEngine(String mysqldump, String mysql, Duration timeout) {
    this(mysqldump, mysql, timeout, null);
  }

  /** @param stallTimeout mysqldump is stopped once nothing has come out of it for this long (a vanished host) */
  public MysqlDumpEngine(String mysqldump, String mysql, Duration timeout, Duration stallTimeout) {
    this(mysqldump, mysql, timeout, stallTimeout, OutputBuffer.TOOLS_OWN);
  }

  /** @param outputBuffer how mysqldump buffers what it writes to the worker */
  public MysqlDumpEngine(String mysqldump, String mysql, Duration timeout, Duration stallTimeout, OutputBuffer outputBuffer) {
    this.mysqldump = mysqldump;
    this.mysql = mysql;
    this.timeout = timeout;
    this.stallTimeout = stallTimeout;
    this.outputBuffer = outputBuffer;
  }

  @Override
  public String dumpFileName(String database) {
    return database + ".sql";
  }

  @Override
  public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException {
    Path options = scratch.resolve("my.cnf");
    ExternalCommand.runWithSecretFile("mysqldump", options, optionFile(target), Scrubber.hiding(target.password()),
        outputBuffer.around(command(target, options, isMariadbClient())), Map.of(), scratch, timeout, stallTimeout, output);
  }

  @Override
  public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    // the name is validated (letters, digits, _ $ -); quoted as a string all the same
    String sql = COUNT_TABLES + "'" + target.database().replace("\\", "\\\\").replace("'", "''") + "'";
    String out = ExternalCommand.output("mysql", scratch, "count.cnf", optionFile(target), Scrubber.hiding(target.password()),
        options -> List.of(mysql, "--defaults-extra-file=" + options, "--protocol=TCP", "--batch", "--skip-column-names",
            "--execute", sql),
        options -> Map.of(), DumpEngine.countTimeout(timeout)).trim();
    try {
      return OptionalInt.of(Integer.parseInt(out));
    } catch (NumberFormatException e) {
      throw new DumpFailedException("could not count the tables before the dump: unexpected answer from mysql");
    }
  }

  /** mysqldump writes each table's definition on a line of its own: {@code CREATE TABLE `name` (}. */
  @Override
  public TableSpotter spotTables(OutputStream output) {
    return new TableSpotter(output, "\nCREATE TABLE `".getBytes(StandardCharsets.US_ASCII));
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
    // after "--" the database is a name whatever it looks like: "-A" is not --all-databases
    command.add("--");
    command.add(target.database());
    return command;
  }

  /**
   * A {@code [client]} option file, read by the client's own rules (mysys {@code my_default}): a value
   * in double quotes keeps {@code # ; = '} and leading or trailing spaces; inside, {@code \\} and
   * {@code \"} are the only escapes needed. A line break cannot be written at all: {@link DumpTarget}
   * refuses one, and this refuses it again, since it would end the value and start an option.
   */
  static String optionFile(DumpTarget target) {
    return "[client]\n"
        + "host=" + quote(target.host()) + "\n"
        + "port=" + target.port() + "\n"
        + "user=" + quote(target.user()) + "\n"
        + "password=" + quote(target.password()) + "\n";
  }

  private static String quote(String value) {
    if (dev.backstop.kit.addon.ConnectionValues.hasControl(value)) {
      throw new IllegalArgumentException("a value with a line break or control character cannot go in an option file");
    }
    return "\"" + escapeOptionValue(value) + "\"";
  }

  /** A value as written between the double quotes of an option file. */
  public static String escapeOptionValue(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"");
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
