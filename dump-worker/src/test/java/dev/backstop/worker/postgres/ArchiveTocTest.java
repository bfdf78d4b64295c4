package dev.backstop.worker.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.testing.LocalPostgres;
import dev.backstop.worker.engine.DumpTarget;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveTocTest {

  @TempDir Path scratch;

  @Test
  void the_head_of_a_real_dump_lists_what_pg_restore_lists_and_serves_it_alone() throws Exception {
    byte[] dump = dumpOf("create table t (id int primary key, note text); insert into t select g, md5(g::text) from generate_series(1, 5000) g;"
        + " create sequence s; select setval('s', 9); create index t_note on t (note); create view v as select id from t;"
        + " create function f() returns int language sql as 'select 1'; comment on table t is 'a\nline break';");
    InputStream in = new ByteArrayInputStream(dump);

    ArchiveToc.Read read = ArchiveToc.read(in, 1 << 20);

    assertThat(read.known()).isTrue();
    assertThat(read.onlyTablesHaveData()).isTrue();
    // what was read is the archive's first bytes, and the stream goes on right after them
    assertThat(read.head()).isEqualTo(Arrays.copyOf(dump, read.head().length));
    assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOfRange(dump, read.head().length, dump.length));
    Path head = Files.write(scratch.resolve("head.pgdump"), read.head());
    // pg_restore lists all but the entries it handles itself (the session's encoding and settings)
    List<String> entries = read.entries().stream()
        .filter(e -> !List.of("ENCODING", "STDSTRINGS", "SEARCHPATH", "DATABASE").contains(e.desc()))
        .map(e -> e.dumpId() + " " + e.desc()).toList();
    assertThat(entries).isEqualTo(listed(head)).isEqualTo(listed(Files.write(scratch.resolve("whole.pgdump"), dump)))
        .contains("" + read.entries().stream().filter(ArchiveToc.Entry::hasData).findFirst().orElseThrow().dumpId()
            + " TABLE DATA")
        .hasSizeGreaterThan(5);
  }

  @Test
  void a_dump_with_large_objects_has_data_beyond_its_tables() throws Exception {
    byte[] dump = dumpOf("create table t (id int); insert into t values (1); select lo_from_bytea(0, 'some bytes')");

    ArchiveToc.Read read = ArchiveToc.read(new ByteArrayInputStream(dump), 1 << 20);

    assertThat(read.known()).isTrue();
    assertThat(read.onlyTablesHaveData()).isFalse();
  }

  @Test
  void what_is_not_a_known_head_reads_as_unknown_with_the_bytes_read_given_back() throws Exception {
    byte[] dump = dumpOf("create table t (id int); insert into t values (1)");
    for (byte[] bytes : List.of("PGDMX and more".getBytes(), Arrays.copyOf(dump, 40), new byte[0])) {
      InputStream in = new ByteArrayInputStream(bytes);

      ArchiveToc.Read read = ArchiveToc.read(in, 1 << 20);

      assertThat(read.known()).isFalse();
      assertThat(read.onlyTablesHaveData()).isFalse();
      byte[] replayed = new byte[bytes.length];
      System.arraycopy(read.head(), 0, replayed, 0, read.head().length);
      in.readNBytes(replayed, read.head().length, bytes.length - read.head().length);
      assertThat(replayed).isEqualTo(bytes);
    }
    // a head larger than the limit is not read past it
    ArchiveToc.Read cut = ArchiveToc.read(new ByteArrayInputStream(dump), 100);
    assertThat(cut.known()).isFalse();
    assertThat(cut.head().length).isLessThanOrEqualTo(100);
  }

  /** {@code pg_restore --list}'s ids and types, in its order. */
  private static List<String> listed(Path archive) {
    Pattern entry = Pattern.compile("(\\d+); \\d+ \\d+ (TABLE DATA|SEQUENCE SET|[A-Z]+( [A-Z]+)?) .*");
    return LocalPostgres.run(List.of("pg_restore", "--list", archive.toString())).lines()
        .map(entry::matcher).filter(Matcher::matches).map(m -> m.group(1) + " " + m.group(2)).toList();
  }

  private byte[] dumpOf(String sql) throws Exception {
    String db = LocalPostgres.createDatabase("backstop_toc_src");
    try {
      LocalPostgres.psql(db, sql);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      new PostgresDumpEngine("pg_dump", Duration.ofMinutes(1))
          .dump(new DumpTarget(LocalPostgres.HOST, LocalPostgres.PORT, db, LocalPostgres.USER, ""), out, scratch);
      return out.toByteArray();
    } finally {
      LocalPostgres.dropDatabase(db);
    }
  }
}
