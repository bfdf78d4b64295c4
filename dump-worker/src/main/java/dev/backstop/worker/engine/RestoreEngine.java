package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Restores a dump into a scratch database of its engine, the way a customer would, to prove the
 * dump restorable. The scratch server is Backstop's own, never the customer's: credentials go
 * through a private file as for dumps, and the scratch database is dropped whatever happened.
 */
public interface RestoreEngine {

  /**
   * Which of this engine's restore failures are the scratch server's passing trouble (tried again)
   * rather than the dump's.
   */
  FailureClassifier failures();

  /**
   * What the restores run on, e.g. {@code PostgreSQL 15.20}: part of what a verification reports.
   *
   * @throws ScratchServerException the scratch server cannot be reached or refuses Backstop
   */
  String serverName(Path scratch) throws ScratchServerException, IOException;

  /**
   * Creates {@code database} on the scratch server, restores the dump read from {@code dump} into it
   * with the engine's own client, counts what it holds, and drops it.
   *
   * @param scratch a private folder for the engine's temporary files
   * @throws ScratchServerException the scratch database could not be prepared: the server's trouble, not the dump's
   * @throws DumpFailedException the restore or the count failed, with the client's reason
   * @throws IOException {@code dump} could not be read; the client has been stopped
   */
  Restored restore(String database, InputStream dump, Path scratch)
      throws ScratchServerException, DumpFailedException, IOException;

  /**
   * The databases on the scratch server that are neither the server's own (system databases, the
   * maintenance database) nor scratch ones (named with {@code scratchPrefix}): a server holding any is
   * shared with something else, maybe customers, and restore tests must not run there unless told.
   *
   * @throws ScratchServerException the scratch server cannot be reached or refuses Backstop
   */
  default List<String> otherDatabases(String scratchPrefix, Path scratch) throws ScratchServerException, IOException {
    return List.of();
  }

  /** Drops {@code database} if an earlier, interrupted test left it behind. */
  void drop(String database, Path scratch) throws ScratchServerException, IOException;

  /**
   * The clean-up after a test: a failure is logged, not thrown, so that it never replaces the test's own
   * outcome (the next attempt at that backup drops the leftover). A worker shutting down still cleans
   * up: the drop runs with the pending interrupt set aside, and the interrupt is kept.
   */
  default void dropAfterTest(String database, Path scratch) {
    boolean interrupted = Thread.interrupted();
    try {
      drop(database, scratch);
    } catch (ScratchServerException | IOException e) {
      org.slf4j.LoggerFactory.getLogger(getClass())
          .warn("scratch database {} was not dropped; the next test of that backup drops it: {}", database, e.getMessage());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** What a restore produced: tables created and the rows they hold, counted after the restore. */
  record Restored(int tables, long rows) {}

  /** The scratch server could not be used (unreachable, refusing Backstop's user, out of space). */
  final class ScratchServerException extends Exception {
    public ScratchServerException(String message) {
      super(message);
    }
  }
}
