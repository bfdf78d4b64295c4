package dev.backstop.worker.engine;

import dev.backstop.worker.postgres.PostgresFailures;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.OptionalInt;

/** A dump engine for tests that writes what {@code body} writes, named and classified as PostgreSQL's. */
public final class FakePostgresDump {

  /** The dump itself: what the fake writes, or the failure it throws. */
  @FunctionalInterface
  public interface Body {
    void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException;
  }

  private FakePostgresDump() {}

  /** Counts no tables before the dump, as an engine without a catalog query does. */
  public static DumpEngine of(Body body) {
    return of(body, OptionalInt.empty());
  }

  public static DumpEngine of(Body body, OptionalInt expectedTables) {
    return new DumpEngine() {
      @Override
      public FailureClassifier failures() {
        return PostgresFailures.CLASSIFIER;
      }

      @Override
      public String dumpFileName(String database) {
        return database + ".pgsql";
      }

      @Override
      public void dump(DumpTarget target, OutputStream output, Path scratch) throws DumpFailedException, IOException {
        body.dump(target, output, scratch);
      }

      @Override
      public OptionalInt expectedTables(DumpTarget target, Path scratch) {
        return expectedTables;
      }
    };
  }
}
