package dev.backstop.worker.verify;

import dev.backstop.worker.engine.RestoreEngine.Restored;
import java.util.Locale;

/**
 * What a restore produced, against the tables its backup counted in the database just before the dump
 * ({@code BackupCompleted.expectedTables}). A restore with none of N does not pass: that dump was not a
 * backup of that database. Fewer than N passes and says so, since tables dropped while the dump ran
 * are legitimately missing from it.
 */
final class RestoredTables {

  private RestoredTables() {}

  /** Why the restore does not pass on its tables alone, or null. */
  static String shortfall(Restored restored, Integer expected) {
    if (expected != null && expected > 0 && restored.tables() == 0) {
      return "the restore created no table although the database had " + count(expected, "table")
          + " when it was dumped";
    }
    return null;
  }

  /** "restored 3 of 4 tables, 1,200 rows into PostgreSQL 15.20 in 1.2 s"; without "of N" when not counted. */
  static String summary(Restored restored, Integer expected, String server, double seconds) {
    String tables = expected == null
        ? count(restored.tables(), "table")
        : String.format(Locale.ROOT, "%,d of %s", restored.tables(), count(expected, "table"));
    return String.format(Locale.ROOT, "restored %s, %s into %s in %.1f s", tables, count(restored.rows(), "row"), server, seconds);
  }

  static String count(long n, String noun) {
    return String.format(Locale.ROOT, "%,d %s%s", n, noun, n == 1 ? "" : "s");
  }
}
