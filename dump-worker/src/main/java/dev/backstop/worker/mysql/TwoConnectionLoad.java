package dev.backstop.worker.mysql;

import dev.backstop.worker.engine.DumpFailedException;
import dev.backstop.worker.engine.ClientFeeds;
import dev.backstop.worker.engine.ClientFeeds.ClientGone;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads one dump through two {@code mysql} clients at once, the rows split between them by {@link RowSplitter}.
 * Each client gets its share on its standard input as it comes (a few megabytes queued, never the dump
 * whole); a sync is a {@code SELECT} of a token of this load's, seen coming back on that client's standard
 * output ({@code --unbuffered} prints each result as it comes).
 *
 * <p>A failure anywhere stops both: a client that fails or exits before its input's end gives up the
 * other (its input fails, and {@code ExternalCommand} kills it), and so does a dump that cannot be read or
 * holds a refused statement. The failure reported is the first one: the client's own reason, its
 * {@code at line N} rewritten to the line of the dump, or the dump's.
 */
final class TwoConnectionLoad implements RowSplitter.Connections {

  /** One client, run to its end on its input and output: {@code ExternalCommand} with its exit hook. */
  interface Client {
    void run(InputStream input, OutputStream output, Runnable exited) throws DumpFailedException, IOException;
  }

  private static final int CHUNK = 1 << 20;
  /**
   * Bytes gathered for a client before they are queued: MariaDB's mysqldump writes a row a line, and a
   * queue hand-off per row cost more CPU (futex wake-ups) than the client itself.
   */
  private static final int BATCH = 1 << 18;
  /** Batches queued per client: a few megabytes at most waiting for each. */
  private static final int QUEUED = 8;
  private static final Pattern AT_LINE = Pattern.compile("at line (\\d+)");

  private final ClientFeeds feeds = new ClientFeeds(2, BATCH, QUEUED);
  private final Replies[] replies;
  private final long[] syncs = new long[2];
  private final String token;
  /** Input lines written per client, and where a run of them starts in the dump: line → dump line minus line. */
  private final long[] lines = {1, 1};
  private final long[] shift = {Long.MIN_VALUE, Long.MIN_VALUE};
  @SuppressWarnings("unchecked")
  private final TreeMap<Long, Long>[] dumpLines = new TreeMap[] {new TreeMap<>(), new TreeMap<>()};

  private TwoConnectionLoad() {
    byte[] nonce = new byte[8];
    new java.security.SecureRandom().nextBytes(nonce);
    token = "backstop-sync-" + HexFormat.of().formatHex(nonce) + "-";
    replies = new Replies[] {new Replies(token), new Replies(token)};
  }

  /**
   * Loads {@code dump} (filtered, without a session prelude) through {@code main} and {@code second}, each
   * first given {@code prelude} and last {@code end}.
   *
   * @throws DumpFailedException a client failed, or exited before the end of its input
   * @throws IOException the dump could not be read, or was refused ({@link MysqlDumpFilter.ForbiddenStatement})
   */
  static void load(InputStream dump, String prelude, String end, Client main, Client second)
      throws DumpFailedException, IOException {
    new TwoConnectionLoad().run(dump, prelude, end, main, second);
  }

  private void run(InputStream dump, String prelude, String end, Client main, Client second)
      throws DumpFailedException, IOException {
    Exception[] failures = new Exception[2];
    AtomicInteger exits = new AtomicInteger();
    int[] exitOrder = new int[2];
    Thread[] threads = new Thread[2];
    Client[] clients = {main, second};
    for (int c = 0; c < 2; c++) {
      int connection = c;
      // platform threads: each blocks reading its client's output pipe (see ExternalCommand's feeder)
      threads[c] = Thread.ofPlatform().daemon().name("mysql-restore-" + (c + 1)).start(() -> {
        try {
          clients[connection].run(feeds.input(connection), replies[connection], feeds.input(connection)::exited);
        } catch (DumpFailedException | IOException | RuntimeException e) {
          failures[connection] = e;
        } finally {
          feeds.input(connection).exited();
          exitOrder[connection] = exits.incrementAndGet();
        }
      });
    }
    IOException fed = null;
    try {
      injected(RowSplitter.MAIN, prelude);
      injected(RowSplitter.SECOND, prelude);
      RowSplitter splitter = new RowSplitter(this);
      while (true) {
        // a megabyte at a time (about one INSERT of mysqldump's): each slice queued wakes a client's feeder
        byte[] chunk = new byte[CHUNK];
        int n = dump.readNBytes(chunk, 0, CHUNK);
        if (n == 0) {
          break;
        }
        splitter.accept(chunk, n);
      }
      splitter.finish();
      injected(RowSplitter.MAIN, end);
      injected(RowSplitter.SECOND, end);
      feeds.end();
    } catch (IOException e) {
      fed = e;
      feeds.abort(e instanceof ClientGone ? new IOException("the restore's other client failed") : e);
    } catch (RuntimeException e) {
      // neither client is left waiting for the rest of its input until its timeout
      feeds.abort(new IOException("the restore was given up: " + e));
      throw e;
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        IOException stop = new InterruptedIOException("the restore was interrupted (worker shutting down)");
        feeds.abort(stop);
        Thread.currentThread().interrupt();
        throw new DumpFailedException("mysql was interrupted (worker shutting down)");
      }
    }
    if (fed != null && !(fed instanceof ClientGone)) {
      throw fed;
    }
    // the client that failed first; the other one was stopped because of it
    int first = exitOrder[RowSplitter.MAIN] < exitOrder[RowSplitter.SECOND] ? RowSplitter.MAIN : RowSplitter.SECOND;
    for (int c : new int[] {first, 1 - first}) {
      if (failures[c] instanceof DumpFailedException failed) {
        throw new DumpFailedException(inDumpLines(c, failed.getMessage()));
      }
    }
    for (Exception failure : failures) {
      if (failure instanceof IOException io) {
        throw io;
      }
      if (failure instanceof RuntimeException runtime) {
        throw runtime;
      }
    }
    if (fed != null) {
      throw new DumpFailedException("mysql stopped reading the dump before its end");
    }
  }

  @Override
  public void write(int connection, long dumpLine, byte[] b, int off, int len) throws IOException {
    long shiftHere = dumpLine - lines[connection];
    if (shiftHere != shift[connection]) {
      shift[connection] = shiftHere;
      dumpLines[connection].put(lines[connection], shiftHere);
    }
    // the splitter's slices end at a line break or before one: no need to look through the rows
    if (len > 0 && b[off + len - 1] == '\n') {
      lines[connection]++;
    }
    feeds.hand(connection, b, off, len);
  }

  @Override
  public void sync(int connection) throws IOException {
    long n = ++syncs[connection];
    // the second connection's rows are committed before the main one goes on (with autocommit off, a trigger
    // created on their table would otherwise wait for their transaction)
    injected(connection, (connection == RowSplitter.SECOND ? "COMMIT;\n" : "") + "SELECT '" + token + n + "';\n");
    // the other client goes on with what it was given while this one catches up
    feeds.send(RowSplitter.MAIN);
    feeds.send(RowSplitter.SECOND);
    Replies reply = replies[connection];
    synchronized (reply) {
      while (reply.reached < n) {
        feeds.alive();
        try {
          reply.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("the restore was interrupted (worker shutting down)");
        }
      }
    }
  }

  /** Text of this load's own, not of the dump: it counts as input lines but maps to no line of the dump. */
  private void injected(int connection, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    shift[connection] = Long.MIN_VALUE;
    dumpLines[connection].put(lines[connection], Long.MIN_VALUE);
    for (byte b : bytes) {
      if (b == '\n') {
        lines[connection]++;
      }
    }
    feeds.hand(connection, bytes, 0, bytes.length);
  }

  /** A client's reason with its {@code at line N} (a line of its own input) given as the dump's line. */
  String inDumpLines(int connection, String reason) {
    Matcher at = AT_LINE.matcher(reason);
    if (!at.find()) {
      return reason;
    }
    long line = Long.parseLong(at.group(1));
    Map.Entry<Long, Long> run = dumpLines[connection].floorEntry(line);
    if (run == null || run.getValue() == Long.MIN_VALUE) {
      return reason.substring(0, at.start()) + "in the restore's own statements" + reason.substring(at.end());
    }
    return reason.substring(0, at.start()) + "at line " + (line + run.getValue()) + " of the dump" + reason.substring(at.end());
  }

  /** A client's standard output: the sync tokens it printed, the rest (a dump's own SELECTs) ignored. */
  private static final class Replies extends OutputStream {
    private final byte[] prefix;
    private final byte[] line = new byte[128];
    private int length;
    private boolean overlong;
    long reached;

    Replies(String token) {
      prefix = token.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      for (int k = off; k < off + len; k++) {
        byte c = b[k];
        if (c == '\n') {
          if (!overlong) {
            seen();
          }
          length = 0;
          overlong = false;
        } else if (length < line.length) {
          line[length++] = c;
        } else {
          overlong = true;
        }
      }
    }

    private void seen() {
      if (length <= prefix.length || !java.util.Arrays.equals(line, 0, prefix.length, prefix, 0, prefix.length)) {
        return;
      }
      try {
        reached = Math.max(reached, Long.parseLong(new String(line, prefix.length, length - prefix.length,
            StandardCharsets.US_ASCII).strip()));
        notifyAll();
      } catch (NumberFormatException notOurs) {
        // a dump's own output that happens to start like a token
      }
    }
  }
}
