package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.worker.engine.DumpTarget;
import org.junit.jupiter.api.Test;

/** The command line of a restore into an operator's database: one transaction, no password, values after their options. */
class PostgresTargetRestoreTest {

  @Test
  void the_restore_runs_in_one_transaction_stops_at_the_first_error_and_never_names_the_password() {
    var target = new DumpTarget("db.internal", 5433, "shop_restored", "restorer", "s3cret:pass");
    assertThat(PostgresTargetRestore.command("/usr/lib/postgresql/17/bin/pg_restore", target)).containsExactly(
        "/usr/lib/postgresql/17/bin/pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
        "--no-password", "--host", "db.internal", "--port", "5433", "--username", "restorer", "--dbname", "shop_restored");
  }
}
