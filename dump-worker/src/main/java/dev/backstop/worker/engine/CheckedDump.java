package dev.backstop.worker.engine;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A dump checked against its database: the tables it must define are counted by a catalog query run
 * as the dump starts, and a dump that defines none while the database has some fails, whatever the
 * tool's exit status said. That is what an option smuggled into a tool (an empty {@code --no-data}, a dump
 * written elsewhere by {@code result-file}) or a wrong database looks like from outside: an archive
 * listed done that restores nothing.
 *
 * <p>Only "none of N" fails: tables dropped while the dump runs may legitimately leave fewer. The count
 * travels in {@code BackupCompleted.expectedTables}, for the restore test to compare.
 *
 * <p>The count runs beside the dump rather than before it: it is a client process of its own (tens of
 * milliseconds to start, connect and answer) that no byte of the dump waits for. A count that fails
 * stops the dump at its next write and is the failure reported, as when it ran first: the same
 * credentials against the same server usually fail both ways, and the count's reason is the one
 * customers saw before.
 */
public final class CheckedDump {

  private CheckedDump() {}

  /**
   * Counts, dumps {@code target} into {@code output} through {@code engine}, and checks.
   *
   * @return the number of tables the dump was expected to define, or null when the engine cannot tell
   * @throws DumpFailedException the count or the dump failed, or the dump defines no table of the N expected
   */
  public static Integer dump(DumpEngine engine, DumpTarget target, OutputStream output, Path scratch)
      throws DumpFailedException, IOException {
    CompletableFuture<OptionalInt> count = new CompletableFuture<>();
    Thread counter = Thread.ofVirtual().name("table-count").start(() -> {
      try {
        count.complete(engine.expectedTables(target, scratch));
      } catch (Throwable e) {
        count.completeExceptionally(e);
      }
    });
    TableSpotter spotter = engine.spotTables(new StopsOnFailedCount(output, count));
    try {
      engine.dump(target, spotter, scratch);
    } catch (DumpFailedException | IOException | RuntimeException e) {
      // the count's own failure, if it failed, is the reason (the dump was stopped for it, or failed the same way)
      rethrowFailure(count, counter, e);
      throw e;
    }
    OptionalInt expected = await(count, counter);
    if (expected.isPresent() && expected.getAsInt() > 0 && spotter.looks() && !spotter.sawTable()) {
      int n = expected.getAsInt();
      throw new DumpFailedException("the dump defines no table although the database has " + n + " table" + (n == 1 ? "" : "s")
          + ": it is not a usable backup of that database");
    }
    return expected.isPresent() ? expected.getAsInt() : null;
  }

  private static void rethrowFailure(CompletableFuture<OptionalInt> count, Thread counter, Exception dumpFailure)
      throws DumpFailedException, IOException {
    try {
      await(count, counter);
    } catch (DumpFailedException | IOException | RuntimeException countFailure) {
      countFailure.addSuppressed(dumpFailure);
      throw countFailure;
    }
  }

  /** The count's result, waited for (its own timeout bounds it); its failure thrown as it was. */
  private static OptionalInt await(CompletableFuture<OptionalInt> count, Thread counter) throws DumpFailedException, IOException {
    try {
      return count.get();
    } catch (InterruptedException e) {
      counter.interrupt();
      Thread.currentThread().interrupt();
      throw new DumpFailedException("the table count was interrupted (worker shutting down)");
    } catch (ExecutionException e) {
      switch (e.getCause()) {
        case DumpFailedException failed -> throw failed;
        case IOException io -> throw io;
        case RuntimeException runtime -> throw runtime;
        case Error error -> throw error;
        default -> throw new IllegalStateException(e.getCause());
      }
    }
  }

  /** Fails the next write once the count has failed: the dump tool is then stopped, its work being of no use. */
  private static final class StopsOnFailedCount extends FilterOutputStream {
    private final CompletableFuture<OptionalInt> count;

    StopsOnFailedCount(OutputStream out, CompletableFuture<OptionalInt> count) {
      super(out);
      this.count = count;
    }

    @Override
    public void write(int b) throws IOException {
      stopIfCountFailed();
      out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      stopIfCountFailed();
      out.write(b, off, len);
    }

    private void stopIfCountFailed() throws IOException {
      if (count.isCompletedExceptionally()) {
        throw new IOException("the table count failed: the dump is stopped");
      }
    }
  }
}
