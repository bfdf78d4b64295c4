package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The table count and the dump it checks: what each outcome of either makes of the backup. */
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
  void the_count_ends_before_the_dump_starts_so_a_dump_never_holds_two_connections() throws Exception {
    var steps = java.util.Collections.synchronizedList(new java.util.ArrayList<String>());
    Thread caller = Thread.currentThread();
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) {
        steps.add("count on " + (Thread.currentThread() == caller ? "the caller" : "another thread"));
        return OptionalInt.of(3);
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws IOException {
        steps.add("dump on " + (Thread.currentThread() == caller ? "the caller" : "another thread"));
        output.write(TABLE);
      }
    };
    var out = new ByteArrayOutputStream();

    assertThat(CheckedDump.dump(engine, TARGET, out, scratch)).isEqualTo(3);
    // both on the caller's thread, in this order: the count has returned (its connection closed) before the dump starts
    assertThat(steps).containsExactly("count on the caller", "dump on the caller");
    assertThat(out.toByteArray()).isEqualTo(TABLE);
  }

  @Test
  void a_failed_count_is_the_reason_and_no_dump_runs() {
    var dumped = new java.util.concurrent.atomic.AtomicBoolean();
    var engine = new Engine() {
      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) throws DumpFailedException {
        throw new DumpFailedException("psql failed (exit 2): FATAL: too many connections for role \"app\"");
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) {
        dumped.set(true);
      }
    };

    assertThatThrownBy(() -> CheckedDump.dump(engine, TARGET, OutputStream.nullOutputStream(), scratch))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("psql failed (exit 2): FATAL: too many connections for role \"app\"");
    assertThat(dumped).isFalse();
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
}
