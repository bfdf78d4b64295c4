package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * Dumps one database into a file with the engine's own tool. Implementations pass credentials through
 * a private file, never the command line or the log, and remove it afterwards.
 */
public interface DumpEngine {

  /** Which of this engine's dump failures are worth another attempt. */
  FailureClassifier failures();

  /** File name of the dump inside the archive, e.g. {@code mydb.pgsql}. */
  String dumpFileName(String database);

  /**
   * Streams the dump of {@code target} into {@code output} as the tool writes it, uncompressed (the
   * archive compresses); {@code scratch} is a private folder for the engine's temporary files.
   *
   * @throws DumpFailedException the dump failed, with a reason fit to show the customer
   * @throws IOException {@code output} refused a write; the tool has been stopped
   */
  void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException;

  /**
   * How many tables a dump of {@code target} must define, by a cheap catalog query run just before the
   * dump with the same credentials; empty when the engine cannot tell (then nothing is compared).
   * Counted the way the restore test counts what it restored, so that the two can be compared.
   *
   * @throws DumpFailedException the query failed, with a reason fit to show the customer
   */
  default OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    return OptionalInt.empty();
  }

  /** Passes the dump through to {@code output}, noting whether it defines a table; by default it never does. */
  default TableSpotter spotTables(OutputStream output) {
    return new TableSpotter(output, null);
  }

  /** A catalog query never needs the hours a dump may take. */
  static Duration countTimeout(Duration dumpTimeout) {
    Duration cap = Duration.ofMinutes(5);
    return dumpTimeout.compareTo(cap) < 0 ? dumpTimeout : cap;
  }
}
