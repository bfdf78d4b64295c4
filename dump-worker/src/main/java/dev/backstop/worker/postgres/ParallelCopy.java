package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.ClientFeeds;
import dev.backstop.worker.engine.ClientFeeds.ClientGone;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * Loads a dump's table data over several {@code psql} connections at once: pg_restore writes the data as a
 * script, {@link CopyScriptSplitter} deals each table's rows out to the connections, and each connection's
 * share reaches its client's standard input as it comes (a few slices queued, never the dump whole).
 *
 * <p>A failure anywhere stops everything: a client that fails or exits before its input's end gives up
 * the load (pg_restore is killed, the other clients' inputs fail, and {@code ExternalCommand} kills them),
 * and so does a script the splitter refuses or a pg_restore that fails. The failure reported is the first
 * one: a client's own reason, pg_restore's, or the splitter's.
 */
final class ParallelCopy implements CopyScriptSplitter.Connections {

  /** One client, run to its end on its input: {@code ExternalCommand} with its exit hook. */
  interface Client {
    void run(InputStream input, Runnable exited) throws DumpFailedException, IOException;
  }

  /** The script's producer: pg_restore run to its end, writing its standard output to the given stream. */
  interface Script {
    void writeTo(OutputStream out) throws DumpFailedException, IOException;
  }

  /** Bytes gathered for a client before they are queued: a queue hand-off per row would cost more than the row. */
  private static final int BATCH = 1 << 18;
  /** Batches queued per client: a few megabytes at most waiting for each. */
  private static final int QUEUED = 8;

  private final ClientFeeds feeds;

  private ParallelCopy(int clients) {
    feeds = new ClientFeeds(clients, BATCH, QUEUED);
  }

  /**
   * Runs {@code script} and loads what it writes through {@code clients}.
   *
   * @throws DumpFailedException a client or pg_restore failed, a client exited before the end of its input,
   *     or the script was refused
   * @throws IOException the dump given to pg_restore could not be read, or the load was interrupted
   */
  static void load(Script script, Client... clients) throws DumpFailedException, IOException {
    new ParallelCopy(clients.length).run(script, clients);
  }

  private void run(Script script, Client[] clients) throws DumpFailedException, IOException {
    int count = clients.length;
    Exception[] failures = new Exception[count];
    long[] exitedAt = new long[count];
    Thread[] threads = new Thread[count];
    for (int c = 0; c < count; c++) {
      int connection = c;
      // platform threads: each blocks in ExternalCommand's pipe reads and writes
      threads[c] = Thread.ofPlatform().daemon().name("pg-copy-" + (c + 1)).start(() -> {
        try {
          clients[connection].run(feeds.input(connection), feeds.input(connection)::exited);
        } catch (DumpFailedException | IOException | RuntimeException e) {
          failures[connection] = e;
        } finally {
          feeds.input(connection).exited();
          exitedAt[connection] = System.nanoTime();
        }
      });
    }
    Exception fed = null;
    try {
      CopyScriptSplitter splitter = new CopyScriptSplitter(this, count);
      script.writeTo(splitter);
      splitter.finish();
      feeds.end();
    } catch (DumpFailedException | IOException | RuntimeException e) {
      fed = e;
      feeds.abort(new IOException("the restore's table data could not be loaded"));
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        feeds.abort(new InterruptedIOException("the restore was interrupted (worker shutting down)"));
        Thread.currentThread().interrupt();
        throw new DumpFailedException("psql was interrupted (worker shutting down)");
      }
    }
    // a client that failed on its own comes first: pg_restore was killed, and the others stopped, because of it
    int first = -1;
    for (int c = 0; c < count; c++) {
      if (failures[c] instanceof DumpFailedException && (first < 0 || exitedAt[c] < exitedAt[first])) {
        first = c;
      }
    }
    if (first >= 0 && (fed == null || fed instanceof ClientGone)) {
      throw (DumpFailedException) failures[first];
    }
    if (fed != null && !(fed instanceof ClientGone)) {
      switch (fed) {
        case DumpFailedException failed -> throw failed;
        // the splitter's refusal is the dump's failure; a dump that could not be read is not
        case CopyScriptSplitter.Refused refused -> throw new DumpFailedException(refused.getMessage());
        case IOException unread -> throw unread;
        case RuntimeException runtime -> throw runtime;
        default -> throw new IllegalStateException(fed);
      }
    }
    for (Exception failure : failures) {
      switch (failure) {
        case null -> { }
        case DumpFailedException failed -> throw failed;
        case IOException io -> throw io;
        case RuntimeException runtime -> throw runtime;
        default -> throw new IllegalStateException(failure);
      }
    }
    if (fed != null) {
      throw new DumpFailedException("psql stopped reading the table data before its end");
    }
  }

  @Override
  public void write(int connection, byte[] b, int off, int len) throws IOException {
    // the splitter's bytes are lent: its reads reuse the array
    feeds.write(connection, b, off, len);
  }
}
