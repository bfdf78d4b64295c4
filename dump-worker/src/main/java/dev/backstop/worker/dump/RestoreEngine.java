package dev.backstop.worker.dump;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Restores a dump into a scratch database of its engine, the way a customer would, to prove the
 * dump restorable. The scratch server is Backstop's own, never the customer's: credentials go
 * through a private file as for dumps, and the scratch database is dropped whatever happened.
 */
public interface RestoreEngine {

  /** What the restores run on, e.g. {@code PostgreSQL 15.20}: part of what a verification reports. */
  String serverName(Path scratch) throws DumpFailedException, IOException;

  /**
   * Creates {@code database} on the scratch server (replacing one left by an earlier, interrupted
   * attempt), restores the dump read from {@code dump} into it with the engine's own client, counts
   * what it holds, and drops it.
   *
   * @param scratch a private folder for the engine's temporary files
   * @throws DumpFailedException the restore failed, with the client's reason
   * @throws IOException {@code dump} could not be read; the client has been stopped
   */
  Restored restore(String database, InputStream dump, Path scratch) throws DumpFailedException, IOException;

  /** What a restore produced: tables created and the rows they hold, counted after the restore. */
  record Restored(int tables, long rows) {}
}
