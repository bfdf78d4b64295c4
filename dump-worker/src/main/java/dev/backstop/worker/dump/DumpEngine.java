package dev.backstop.worker.dump;

import java.nio.file.Path;

/**
 * Dumps one database into a file with the engine's own tool. Implementations pass credentials through
 * a private file, never the command line or the log, and remove it afterwards.
 */
public interface DumpEngine {

  /** File name of the dump inside the archive, e.g. {@code mydb.pgsql}. */
  String dumpFileName(String database);

  /**
   * Writes the dump of {@code target} to {@code output}; {@code scratch} is a private folder for
   * the engine's temporary files.
   *
   * @throws DumpFailedException with a reason fit to show the customer
   */
  void dump(DumpTarget target, Path output, Path scratch) throws DumpFailedException;
}
