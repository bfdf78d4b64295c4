package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.worker.engine.DumpTarget;
import org.junit.jupiter.api.Test;

class PostgresRestoreCommandTest {

  private final DumpTarget owner = new DumpTarget("scratch.example", 5433, "backstop_verify_ab", "backstop_verify_ab", "pw-secret");

  @Test
  void a_streamed_dump_is_restored_from_standard_input_in_one_job_and_never_names_the_password() {
    var command = PostgresRestoreEngine.restoreCommand("pg_restore", owner);

    assertThat(command).containsExactly("pg_restore", "--exit-on-error", "--no-owner", "--no-privileges", "--no-password",
        "--host", "scratch.example", "--port", "5433", "--username", "backstop_verify_ab", "--dbname", "backstop_verify_ab");
    assertThat(String.join(" ", command)).doesNotContain("pw-secret");
  }

  @Test
  void each_connection_sets_only_what_a_role_without_privileges_may_set_for_its_session() {
    assertThat(PostgresRestoreEngine.sessionOptions(new PostgresRestoreEngine.Tuning(2, 0, 256L << 20)))
        .isEqualTo("-c synchronous_commit=off -c maintenance_work_mem=262144kB");
  }

  @Test
  void a_tuning_without_a_job_or_with_less_than_a_megabyte_of_index_memory_is_refused() {
    assertThatThrownBy(() -> new PostgresRestoreEngine.Tuning(0, 0, 256L << 20)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PostgresRestoreEngine.Tuning(2, 0, 1000)).isInstanceOf(IllegalArgumentException.class);
  }
}
