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

  /**
   * What a dump is checked against and needs to know first, asked just before it with one client start
   * (a client started, connected and answered costs 30–60 ms): the tables it must define
   * ({@link #expectedTables}) and, where the engine's dump depends on it, the server's version. The dump
   * that follows gets it back ({@link #dump(DumpTarget, Preflight, OutputStream, Path)}).
   *
   * @throws DumpFailedException the query failed, with a reason fit to show the customer
   */
  default Preflight preflight(DumpTarget target, Path scratch) throws DumpFailedException, IOException {
    return new Preflight(expectedTables(target, scratch), OptionalInt.empty());
  }

  /** The dump of {@code target} after its {@link #preflight}; by default, the dump that asks nothing first. */
  default void dump(DumpTarget target, Preflight preflight, OutputStream output, Path scratch)
      throws DumpFailedException, IOException {
    dump(target, output, scratch);
  }

  /**
   * What {@link #preflight} found.
   *
   * @param expectedTables as {@link #expectedTables}
   * @param serverVersion the server's version as the engine numbers it (PostgreSQL: {@code server_version_num});
   *     empty when the engine's dump does not depend on it
   */
  record Preflight(OptionalInt expectedTables, OptionalInt serverVersion) {
    /** Nothing asked: no count to compare, and the dump asks what it needs itself. */
    public static final Preflight NONE = new Preflight(OptionalInt.empty(), OptionalInt.empty());
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
