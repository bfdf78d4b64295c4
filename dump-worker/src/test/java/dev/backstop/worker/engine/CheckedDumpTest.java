package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The table count beside the dump: what each outcome of either side makes of the backup. */
class CheckedDumpTest {

  private static final DumpTarget TARGET = new DumpTarget("db.internal", 5432, "app", "app", "secret");
  private static final byte[] TABLE = "\nTABLE t\n".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path scratch;

  /** An engine whose count and dump are the test's; its dumps define a table when they write {@link #TABLE}. */
  private abstract static class Engine implements DumpEngine {
    @Override
    public FailureClassifier failures() {
      return reason -> FailureClassifier.Failure.PERMANENT;
    }

    @Override
    public String dumpFileName(String database) {
      return database + ".dump";
    }

    @Override
    public TableSpotter spotTables(OutputStream output) {
      return new TableSpotter(output, TABLE);
    }
  }

  @Test
  void the_count_runs_while_the_dump_starts_so_no_byte_waits_for_it() throws Exception {
    var dumpStarted = new CountDownLatch(1);
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException {
        // counted before the dump, this would wait for a dump that never starts
        await(dumpStarted);
        return OptionalInt.of(3);
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws IOException {
        dumpStarted.countDown();
        output.write(TABLE);
      }
    };
    var out = new ByteArrayOutputStream();

    assertThat(CheckedDump.dump(engine, TARGET, out, scratch)).isEqualTo(3);
    assertThat(out.toByteArray()).isEqualTo(TABLE);
  }

  @Test
  void a_failed_count_stops_the_dump_at_its_next_write_and_is_the_reason() {
    var refused = new AtomicReference<IOException>();
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException {
        throw new DumpFailedException("psql failed (exit 2): password authentication failed for user \"app\"");
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws IOException {
        // as ExternalCommand does: a refused write stops the tool and is thrown; ten seconds of writing at most
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
          while (System.nanoTime() < end) {
            output.write(new byte[1024]);
          }
        } catch (IOException e) {
          refused.set(e);
          throw e;
        }
      }
    };

    assertThatThrownBy(() -> CheckedDump.dump(engine, TARGET, OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("psql failed (exit 2): password authentication failed for user \"app\"");
    assertThat(refused.get()).as("the write the dump was stopped by").hasMessage("the table count failed: the dump is stopped");
  }

  @Test
  void a_count_failing_after_the_dump_ended_still_fails_the_backup() {
    var dumped = new CountDownLatch(1);
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException {
        await(dumped);
        throw new DumpFailedException("could not count the tables before the dump: unexpected answer from psql");
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws IOException {
        output.write(TABLE);
        dumped.countDown();
      }
    };

    assertThatThrownBy(() -> CheckedDump.dump(engine, TARGET, OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessageStartingWith("could not count the tables");
  }

  @Test
  void a_failed_dump_is_the_reason_when_the_count_succeeded() {
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) {
        return OptionalInt.of(1);
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException {
        throw new DumpFailedException("pg_dump failed (exit 1): could not obtain lock on relation \"t\"");
      }
    };

    assertThatThrownBy(() -> CheckedDump.dump(engine, TARGET, OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("pg_dump failed (exit 1): could not obtain lock on relation \"t\"");
  }

  @Test
  void a_dump_that_defines_no_table_of_those_counted_fails_and_one_of_an_empty_database_passes() throws Exception {
    class Counted extends Engine {
      private final int tables;

      Counted(int tables) {
        this.tables = tables;
      }

      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) {
        return OptionalInt.of(tables);
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws IOException {
        output.write("-- no data\n".getBytes(StandardCharsets.US_ASCII));
      }
    }

    assertThatThrownBy(() -> CheckedDump.dump(new Counted(2), TARGET, OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("the dump defines no table although the database has 2 tables: it is not a usable backup of that database");
    assertThat(CheckedDump.dump(new Counted(0), TARGET, OutputStream.nullOutputStream(), scratch)).isZero();
  }

  private static void await(CountDownLatch latch) throws DumpFailedException {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new DumpFailedException("the other side never came");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DumpFailedException("interrupted");
    }
  }
}
