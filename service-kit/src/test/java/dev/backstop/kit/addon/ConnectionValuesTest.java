package dev.backstop.kit.addon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ConnectionValuesTest {

  @ParameterizedTest
  @ValueSource(strings = {"db.example.com", "pg-primary", "pg_replica", "127.0.0.1", "::1", "2001:db8::5", "localhost."})
  void host_names_and_addresses_pass(String host) {
    assertThat(ConnectionValues.checkHost(host)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"-h", "--all-databases", "a b", "db\nhost", "db;rm", "host:5432", "x/y", "", "db\u2028x"})
  void hosts_that_could_be_options_or_break_lines_are_refused(String host) {
    assertThat(ConnectionValues.checkHost(host)).isPresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"-A", "--all-databases", "a=b", "postgresql://x", "db\n", "db name", ""})
  void databases_that_could_be_options_or_connection_strings_are_refused(String database) {
    assertThat(ConnectionValues.checkDatabase(database)).isPresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"x\npassword=real\nresult-file=/tmp/x\n#", "a\rb", "tab\there", "nul\u0000", "nel\u0085", "ls\u2028"})
  void passwords_with_line_breaks_or_controls_are_refused(String password) {
    assertThat(ConnectionValues.checkPassword(password)).isPresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"p#ss;w=rd:'\"\\ end", "émoji 🔑", " leading and trailing ", "=", "--no-data"})
  void passwords_may_hold_any_printable_character(String password) {
    assertThat(ConnectionValues.checkPassword(password)).isEmpty();
  }

  @Test
  void a_lone_surrogate_is_not_printable() {
    assertThat(ConnectionValues.hasControl("a\uD83D")).isTrue();
    assertThat(ConnectionValues.hasControl("a\uDD11b")).isTrue();
    assertThat(ConnectionValues.hasControl("a\uD83D\uDD11b")).isFalse();
  }

  @Test
  void users_must_not_start_with_a_dash_or_hold_line_breaks() {
    assertThat(ConnectionValues.checkUser("-uroot")).isPresent();
    assertThat(ConnectionValues.checkUser("app\nuser=root")).isPresent();
    assertThat(ConnectionValues.checkUser("app user#1")).isEmpty();
  }

  @Test
  void the_last_check_names_every_field_and_never_the_value() {
    assertThatThrownBy(() -> ConnectionValues.require("-h", 0, "-A", "u\n", "secret\npart"))
        .isInstanceOf(ConnectionValues.InvalidConnectionValue.class)
        .hasMessageContaining("host").hasMessageContaining("port").hasMessageContaining("database")
        .hasMessageContaining("user").hasMessageContaining("password")
        .hasMessageNotContaining("secret").hasMessageNotContaining("part");
  }

  @Test
  void where_a_tool_runs_an_empty_password_is_no_password_but_a_line_break_is_still_refused() {
    assertThat(ConnectionValues.checkForTool("127.0.0.1", 5432, "app", "postgres", "")).isEmpty();
    assertThat(ConnectionValues.check("127.0.0.1", 5432, "app", "postgres", "")).extracting(ConnectionValues.Violation::field)
        .containsExactly("password");
    assertThat(ConnectionValues.checkForTool("127.0.0.1", 5432, "-A", "postgres", "x\nresult-file=/tmp/x"))
        .extracting(ConnectionValues.Violation::field).containsExactly("database", "password");
  }
}
