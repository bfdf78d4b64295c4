package dev.backstop.worker.dump;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * Dumps one database into a file with the engine's own tool. Implementations pass credentials through
 * a private file, never the command line or the log, and remove it afterwards.
 */
public interface DumpEngine {

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
}
