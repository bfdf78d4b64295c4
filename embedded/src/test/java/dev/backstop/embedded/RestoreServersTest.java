package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.worker.engine.RestoreEngine;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestoreServersTest {

  @Test
  void a_server_that_answers_is_reported_found_with_its_version_and_address(@TempDir Path scratch) {
    String line = RestoreServers.describe("PostgreSQL", "postgres@127.0.0.1:5432", "BACKSTOP_VERIFIER_POSTGRESQL_HOST",
        engine(probe -> "PostgreSQL 15.20"), scratch);

    assertThat(line).isEqualTo("PostgreSQL 15.20 at postgres@127.0.0.1:5432 (found)");
  }

  @Test
  void a_server_that_refuses_is_reported_not_reachable_with_the_reason_and_what_happens_to_restore_tests(
      @TempDir Path scratch) throws Exception {
    String line = RestoreServers.describe("MySQL/MariaDB", "root@127.0.0.1:3306", "BACKSTOP_VERIFIER_MYSQL_HOST/_PORT",
        engine(probe -> {
          throw new RestoreEngine.ScratchServerException("mysql failed (exit 1): Can't connect to server on '127.0.0.1'\nmore");
        }), scratch);

    assertThat(line).isEqualTo("MySQL/MariaDB at root@127.0.0.1:3306: not reachable (mysql failed (exit 1): Can't connect to "
        + "server on '127.0.0.1'); restore tests of MySQL/MariaDB backups are tried again for about 20 minutes, then left "
        + "not verified; point BACKSTOP_VERIFIER_MYSQL_HOST/_PORT at one");
    try (var left = Files.list(scratch)) {
      assertThat(left).as("the probe's private folder is removed").isEmpty();
    }
  }

  private interface Probe {
    String serverName(Path scratch) throws RestoreEngine.ScratchServerException;
  }

  private static RestoreEngine engine(Probe probe) {
    return new RestoreEngine() {
      @Override
      public dev.backstop.worker.engine.FailureClassifier failures() {
        return dev.backstop.worker.engine.FailureClassifier.bySubstrings(List.of(), List.of());
      }

      @Override
      public String serverName(Path scratch) throws ScratchServerException {
        return probe.serverName(scratch);
      }

      @Override
      public Restored restore(String database, InputStream dump, Path scratch) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void drop(String database, Path scratch) {
        throw new UnsupportedOperationException();
      }
    };
  }
}
