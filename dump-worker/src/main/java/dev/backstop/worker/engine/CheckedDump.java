package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * A dump checked against its database: the tables it must define are counted by a catalog query just
 * before it runs, and a dump that defines none while the database has some fails, whatever the tool's
 * exit status said. That is what an option smuggled into a tool (an empty {@code --no-data}, a dump
 * written elsewhere by {@code result-file}) or a wrong database looks like from outside: an archive
 * listed done that restores nothing.
 *
 * <p>Only "none of N" fails: tables dropped while the dump runs may legitimately leave fewer. The count
 * travels in {@code BackupCompleted.expectedTables}, for the restore test to compare.
 *
 * <p>The count runs before the dump, not beside it, though the dump's first byte waits for it (a client
 * started, connected and answered: 30–60 ms): beside it, a dump would hold two of the addon's connections
 * at once, and a role at its connection limit but one (the application holding the rest) would see one
 * refused, a failure no retry cures.
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
    DumpEngine.Preflight preflight = engine.preflight(target, scratch);
    OptionalInt expected = preflight.expectedTables();
    TableSpotter spotter = engine.spotTables(output);
    engine.dump(target, preflight, spotter, scratch);
    if (expected.isPresent() && expected.getAsInt() > 0 && spotter.looks() && !spotter.sawTable()) {
      int n = expected.getAsInt();
      throw new DumpFailedException("the dump defines no table although the database has " + n + " table" + (n == 1 ? "" : "s")
          + ": it is not a usable backup of that database");
    }
    return expected.isPresent() ? expected.getAsInt() : null;
  }
}
