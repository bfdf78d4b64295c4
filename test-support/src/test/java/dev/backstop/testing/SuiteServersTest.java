package dev.backstop.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SuiteServersTest {

  @Test
  void the_tests_postgresql_is_a_server_of_the_suites_own_not_the_machines() {
    assumeTrue(System.getenv("BACKSTOP_TEST_PGHOST") == null && System.getenv("BACKSTOP_TEST_PGPORT") == null,
        "the environment names a server for the tests");

    assertThat(LocalPostgres.PORT).isNotEqualTo(5432);
    String dataDirectory = LocalPostgres.psql("postgres", "show data_directory");
    assertThat(Path.of(dataDirectory).getParent().resolve(SuiteServers.OWNER_FILE)).exists();
    assertThat(LocalPostgres.psql("postgres", "show server_encoding")).isEqualTo("UTF8");
  }

  @Test
  void the_tests_mariadb_is_a_server_of_the_suites_own_reached_as_root_over_tcp() {
    assumeTrue(System.getenv("BACKSTOP_TEST_MYHOST") == null && System.getenv("BACKSTOP_TEST_MYPORT") == null,
        "the environment names a server for the tests");

    assertThat(LocalMariadb.PORT).isNotEqualTo(3306);
    String dataDirectory = LocalMariadb.sql(null, "select @@datadir");
    assertThat(Path.of(dataDirectory).getParent().resolve(SuiteServers.OWNER_FILE)).exists();
    assertThat(LocalMariadb.sql(null, "select @@character_set_server, @@log_bin")).isEqualTo("utf8mb4\t0");
  }

  @Test
  void servers_left_running_by_a_killed_run_are_stopped_and_deleted_by_the_next_one() throws Exception {
    PostgresCluster postgres = PostgresCluster.standalone(freePort());
    MariadbCluster mariadb = MariadbCluster.standalone(freePort());
    try {
      long deadPid = deadProcess();
      for (Path dir : List.of(postgres.directory(), mariadb.directory())) {
        Files.writeString(dir.resolve(SuiteServers.OWNER_FILE), deadPid + " 0\n");
      }
      Path tmp = postgres.directory().getParent();
      assertThat(mariadb.directory().getParent()).isEqualTo(tmp);

      SuiteServers.reclaimLeftovers(tmp);

      assertThat(postgres.directory()).doesNotExist();
      assertThat(mariadb.directory()).doesNotExist();
      assertThat(listening(postgres.port())).as("PostgreSQL still listening").isFalse();
      assertThat(listening(mariadb.port())).as("MariaDB still listening").isFalse();
    } finally {
      postgres.close();
      mariadb.close();
    }
  }

  @Test
  void servers_of_a_live_run_are_left_alone() {
    Path postgresDirectory = Path.of(LocalPostgres.psql("postgres", "show data_directory")).getParent();
    assumeTrue(Files.exists(postgresDirectory.resolve(SuiteServers.OWNER_FILE)), "the environment names a server");

    SuiteServers.reclaimLeftovers(postgresDirectory.getParent());

    assertThat(LocalPostgres.psql("postgres", "select 1")).isEqualTo("1");
  }

  private static long deadProcess() throws Exception {
    Process process = new ProcessBuilder("true").start();
    process.waitFor();
    return process.pid();
  }

  private static boolean listening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException refused) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (var socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
