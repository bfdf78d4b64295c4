package dev.backstop.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The steady write load of {@code bench/pitr-capture.sh}: THREADS connections commit numbered rows, one per
 * transaction (autocommit, the server's default {@code synchronous_commit}), at RATE commits/s in all,
 * each row a 400-character hex note (about as compressible as real text, unlike pgbench's blank filler).
 * Every acknowledged id is written to LOG as {@code id epoch_millis}, once the server has answered. Runs
 * until the server goes away (the bench kills it) or STOP_FILE appears, then prints
 * {@code acked last_id commits_per_s}.
 *
 * <p>Run as a single source file: {@code java -cp postgresql.jar PitrWriter.java URL RATE THREADS LOG STOP_FILE}.
 */
public final class PitrWriter {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int rate = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    Path log = Path.of(args[3]);
    Path stop = Path.of(args[4]);
    AtomicLong next = new AtomicLong();
    AtomicLong acked = new AtomicLong();
    long started = System.nanoTime();
    long periodNanos = 1_000_000_000L * threads / rate;
    Thread[] workers = new Thread[threads];
    try (BufferedWriter out = Files.newBufferedWriter(log)) {
      for (int t = 0; t < threads; t++) {
        workers[t] = Thread.ofPlatform().name("writer-" + t).start(() -> write(url, next, acked, periodNanos, out, stop));
      }
      for (Thread w : workers) {
        w.join();
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("%d %d %.0f%n", acked.get(), next.get(), acked.get() / seconds);
  }

  private static void write(String url, AtomicLong next, AtomicLong acked, long periodNanos, BufferedWriter out, Path stop) {
    SecureRandom random = new SecureRandom();
    byte[] note = new byte[200];
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        PreparedStatement insert = c.prepareStatement("insert into numbered(id, note) values (?, ?)")) {
      long due = System.nanoTime();
      while (!Files.exists(stop)) {
        long id = next.incrementAndGet();
        random.nextBytes(note);
        insert.setLong(1, id);
        insert.setString(2, HexFormat.of().formatHex(note));
        insert.executeUpdate();
        long at = System.currentTimeMillis();
        acked.incrementAndGet();
        synchronized (out) {
          out.write(id + " " + at + "\n");
        }
        // a steady rate: each thread paced on its own schedule, catching up after a slow commit
        due += periodNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    } catch (SQLException e) {
      // the server died: what was acknowledged is in the log, the commit in flight was not
      System.err.println(Thread.currentThread().getName() + " stopped: " + e.getMessage());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private PitrWriter() {}
}
