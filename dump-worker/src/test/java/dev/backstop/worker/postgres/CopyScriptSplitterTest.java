package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CopyScriptSplitterTest {

  private static final String HEADER = """
      --
      -- PostgreSQL database dump
      --

      \\restrict cvljvHoGMNMA8JPAlah2yTylb2G8P2HxlBnPWmdIbh5aGAFYEL4yY5WewGPB2de

      SET statement_timeout = 0;
      SET client_encoding = 'UTF8';
      SET standard_conforming_strings = on;
      SELECT pg_catalog.set_config('search_path', '', false);
      SET check_function_bodies = false;
      SET search_path = public, pg_catalog;

      """;

  private final ByteArrayOutputStream[] outputs = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
  private final List<Integer> callsEndingMidRow = new ArrayList<>();

  @Test
  void a_large_tables_rows_are_dealt_out_in_turns_each_share_a_copy_of_its_own_and_small_tables_alternate() throws Exception {
    List<String> big = rows(20_000, "big");
    String script = HEADER
        + table("COPY public.small_a (id, note) FROM stdin;", List.of("1\ta", "2\tb"))
        + table("COPY public.small_b (id, note) FROM stdin;", List.of("3\tc"))
        + table("COPY public.big (id, note) FROM stdin;", big)
        + table("COPY public.empty (id) FROM stdin;", List.of())
        + "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict cveTpTLgKa1\n\n";

    split(script, 2, new Random(7));

    String settings = "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
        + "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n"
        + "SET search_path = public, pg_catalog;\n";
    String first = out(0);
    String second = out(1);
    // the session settings first on both, none of the comments or psql's restrict lines
    assertThat(first).startsWith(settings).doesNotContain("--").doesNotContain("restrict");
    assertThat(second).startsWith(settings).doesNotContain("--").doesNotContain("restrict");
    // both load the big table, each its own COPY, and together every row once
    List<String> bigRows = new ArrayList<>();
    bigRows.addAll(copied(first, "COPY public.big (id, note) FROM stdin;"));
    bigRows.addAll(copied(second, "COPY public.big (id, note) FROM stdin;"));
    assertThat(bigRows).containsExactlyInAnyOrderElementsOf(big);
    assertThat(copied(first, "COPY public.big (id, note) FROM stdin;")).hasSizeGreaterThan(5_000);
    assertThat(copied(second, "COPY public.big (id, note) FROM stdin;")).hasSizeGreaterThan(5_000);
    // each small table goes whole to one connection, the next one's to the other; an empty table to none
    assertThat(copied(first + second, "COPY public.small_a (id, note) FROM stdin;")).containsExactly("1\ta", "2\tb");
    assertThat(copied(first + second, "COPY public.small_b (id, note) FROM stdin;")).containsExactly("3\tc");
    assertThat(first.contains("small_a") ^ second.contains("small_a")).isTrue();
    assertThat(first.contains("small_a") ^ first.contains("small_b")).isTrue();
    assertThat(first + second).doesNotContain("public.empty");
  }

  @Test
  void rows_whose_first_column_is_null_or_escaped_are_rows_even_when_a_write_ends_at_their_backslash() throws Exception {
    List<String> rows = List.of("\\N\tfirst is null", "\\\\.\ta backslash and a dot", "\\t\tstarts with a tab", "4\t\\N");
    String script = HEADER + table("COPY public.t (a, b) FROM stdin;", rows);
    for (int cut = HEADER.length(); cut < script.length(); cut++) {
      outputs[0].reset();
      outputs[1].reset();
      CopyScriptSplitter splitter = new CopyScriptSplitter(this::collect, 2);
      byte[] bytes = script.getBytes(StandardCharsets.UTF_8);
      splitter.write(bytes, 0, cut);
      splitter.write(bytes, cut, bytes.length - cut);
      splitter.finish();
      assertThat(copied(out(0) + out(1), "COPY public.t (a, b) FROM stdin;")).as("cut at " + cut).containsExactlyElementsOf(rows);
    }
  }

  @Test
  void quoted_names_pass_unchanged_line_breaks_quotes_and_backslashes_included() throws Exception {
    String statement = "COPY \"we\"\"ird\n\\! touch /tmp/x;\".\"ta ble\" (\"col;\\.\", \"é\") FROM stdin;";
    String script = HEADER + table(statement, List.of("1\t2"));

    split(script, 2, new Random(1));

    assertThat(copied(out(0) + out(1), statement)).containsExactly("1\t2");
  }

  @Test
  void a_copy_statement_with_more_than_pg_dumps_shape_is_refused() {
    for (String statement : List.of(
        "COPY public.t (a) FROM stdin; \\! touch /tmp/x",
        "COPY public.t (a) FROM stdin; SELECT 1;",
        "COPY public.t (a) FROM '/etc/passwd';",
        "COPY public.t (a) FROM stdin;;",
        "COPY public.t\n(a) FROM stdin;",
        "COPY public.t (a) FROM PROGRAM 'id';",
        "COPY public.\"t\" (a) TO stdout; COPY x FROM stdin;")) {
      assertThatThrownBy(() -> split(HEADER + table(statement, List.of("1")), 2, new Random(3)))
          .as(statement).isInstanceOf(IOException.class)
          .hasMessageContaining("COPY statement unlike pg_dump's");
    }
  }

  @Test
  void anything_but_settings_comments_and_copies_is_refused_and_so_is_a_script_ending_in_a_tables_rows() {
    assertThatThrownBy(() -> split(HEADER + "INSERT INTO public.t VALUES (1);\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("a statement other than a setting or a table's COPY");
    assertThatThrownBy(() -> split(HEADER + "SET search_path = \"x\"; \\! id\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("a statement other than a setting or a table's COPY");
    assertThatThrownBy(() -> split(HEADER + "\\! id\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("a statement other than a setting or a table's COPY");
    assertThatThrownBy(() -> split(HEADER + "COPY public.t (a) FROM stdin;\n1\n\\.x\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("a row starting with \\.");
    assertThatThrownBy(() -> split(HEADER + "COPY public.t (a) FROM stdin;\n1\n2\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("ends inside a table's rows");
    assertThatThrownBy(() -> split(HEADER + "COPY \"unclosed (a) FROM stdin;\n", 2, new Random(3)))
        .isInstanceOf(IOException.class).hasMessageContaining("ends inside a table's rows");
  }

  @Test
  void one_connection_gets_every_row() throws Exception {
    List<String> rows = rows(5_000, "x");
    split(HEADER + table("COPY public.t (id, note) FROM stdin;", rows), 1, new Random(5));

    assertThat(copied(out(0), "COPY public.t (id, note) FROM stdin;")).containsExactlyElementsOf(rows);
  }

  /** Feeds the script in writes of random sizes, from a byte to a few pipe reads. */
  private void split(String script, int connections, Random random) throws IOException {
    CopyScriptSplitter splitter = new CopyScriptSplitter(this::collect, connections);
    byte[] bytes = script.getBytes(StandardCharsets.UTF_8);
    for (int at = 0; at < bytes.length; ) {
      int n = Math.min(bytes.length - at, random.nextBoolean() ? 1 + random.nextInt(16) : 1 + random.nextInt(200_000));
      splitter.write(bytes, at, n);
      at += n;
    }
    splitter.finish();
  }

  private void collect(int connection, byte[] b, int off, int len) {
    outputs[connection].write(b, off, len);
  }

  private String out(int connection) {
    return outputs[connection].toString(StandardCharsets.UTF_8);
  }

  /** The rows of every COPY of {@code statement} in a connection's input, in order. */
  private static List<String> copied(String input, String statement) {
    List<String> rows = new ArrayList<>();
    for (int at = input.indexOf(statement + "\n"); at >= 0; at = input.indexOf(statement + "\n", at + 1)) {
      int from = at + statement.length() + 1;
      int end = input.indexOf("\n\\.\n", from - 1);
      String body = input.substring(from, end + 1);
      if (!body.isEmpty()) {
        rows.addAll(List.of(body.substring(0, body.length() - 1).split("\n", -1)));
      }
    }
    return rows;
  }

  private static String table(String statement, Collection<String> rows) {
    StringBuilder text = new StringBuilder("--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres\n--\n\n");
    text.append(statement).append('\n');
    rows.forEach(row -> text.append(row).append('\n'));
    return text.append("\\.\n\n\n").toString();
  }

  private static List<String> rows(int count, String prefix) {
    List<String> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      rows.add(i + "\t" + prefix + " note " + Integer.toHexString(i * 7919));
    }
    return rows;
  }
}
