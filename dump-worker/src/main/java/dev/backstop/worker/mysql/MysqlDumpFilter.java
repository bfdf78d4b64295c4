package dev.backstop.worker.mysql;

import dev.backstop.worker.engine.ChunkedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A mysqldump file on its way into the {@code mysql} client of a restore test, read as it streams (no
 * line is held whole: a row of a large table can be hundreds of megabytes on one line):
 *
 * <ul>
 *   <li>refuses a statement that leaves the scratch database: a line starting (after blanks and
 *       {@code /*!NNNNN} version comments) with {@code CREATE DATABASE}, {@code CREATE SCHEMA},
 *       {@code DROP DATABASE}, {@code DROP SCHEMA}, {@code USE}, or the client's {@code CONNECT},
 *       <code>&#92;u</code>, <code>&#92;r</code>: reading stops with {@link ForbiddenStatement} before that line reaches
 *       the client. mysqldump starts every statement on a line of its own; a routine's body is written
 *       as its author wrote it, so one that creates a database on a line of its own is refused too
 *       (the test fails, it never runs it);</li>
 *   <li>removes {@code DEFINER=`user`@`host`} (and a role's {@code DEFINER=`role`}) wherever mysqldump
 *       writes one: {@code CREATE DEFINER=… PROCEDURE}, {@code /*!50013 DEFINER=… SQL SECURITY DEFINER *}{@code /}
 *       of views, {@code /*!50017 DEFINER=… *}{@code /} of triggers, {@code /*!50117 DEFINER=… *}{@code /}
 *       of events. The restoring user, who may act for nobody else, becomes the definer.</li>
 * </ul>
 *
 * Rows pass untouched: an {@code INSERT INTO} line and, while that statement has not ended with
 * {@code ;}, the lines after it (MariaDB's mysqldump puts each row on a line of its own). Line breaks in
 * values are escaped by mysqldump, so a row never spans lines and a line of rows ends with {@code ,} or
 * {@code ;}.
 */
final class MysqlDumpFilter extends ChunkedInputStream {

  /** The dump holds a statement a restore test must not run. */
  static final class ForbiddenStatement extends IOException {
    ForbiddenStatement(String message) {
      super(message);
    }
  }

  private static final byte[] DEFINER = "DEFINER=`".getBytes(StandardCharsets.US_ASCII);
  /** Bytes of a line's start looked at to classify it; a longer blank or comment run is not mysqldump's. */
  private static final int PREFIX = 96;
  /** A user is at most 80 characters and a host 255: a longer "identifier" is not a definer clause. */
  private static final int MAX_CLAUSE = 1024;
  private static final Pattern LEADING = Pattern.compile("^(\\s|/\\*M?!\\d*)*");
  private static final List<String> FORBIDDEN = List.of("CREATE DATABASE", "CREATE SCHEMA", "DROP DATABASE", "DROP SCHEMA",
      "USE ", "USE`", "USE\t", "USE;", "CONNECT ", "\\U", "\\R");

  private enum Mode { LINE_START, DATA, STATEMENT }

  private final InputStream source;
  private final byte[] chunk = new byte[1 << 16];
  private final ByteArrayOutputStream prefix = new ByteArrayOutputStream();
  private final ByteArrayOutputStream held = new ByteArrayOutputStream();
  private final Out ready = new Out();
  private Mode mode = Mode.LINE_START;
  private long line = 1;
  private int definerMatched;
  /** 0: not in a clause; 1: in the user; 2: after a backquote in the user; 3: after '@'; 4: in the host; 5: after a backquote in the host. */
  private int clause;
  private boolean ended;
  /** In an INSERT statement that continues on the next line; the last byte of the line so far. */
  private boolean inInsert;
  private byte lastData;
  private ForbiddenStatement refused;

  MysqlDumpFilter(InputStream source) {
    this.source = source;
  }

  /**
   * Sent before the dump, on the restoring user's own session (no privilege needed): no unique or
   * foreign-key checks while rows load (mysqldump's header says the same, a hand-made dump may not).
   * Autocommit stays on: with it off, each table's rows held one transaction open across its INSERTs, and
   * MariaDB's statistics thread, finding the table in use, retried its recalculation on a core of its own
   * for as long (twice the server's CPU for a restore, no faster: docs/benchmarks.md, bench/mysql-prelude.sh).
   */
  static final String SESSION_PRELUDE = "SET SESSION unique_checks = 0, foreign_key_checks = 0;\n";
  /**
   * After the dump: a dump that turned autocommit off itself (mysqldump's {@code --no-autocommit}) has
   * what its last statements wrote committed before the client disconnects, not rolled back.
   */
  static final String SESSION_END = "\nCOMMIT;\n";

  /** The filtered dump between {@link #SESSION_PRELUDE} and {@link #SESSION_END}: what the restore's client reads. */
  static InputStream forRestore(InputStream dump) {
    return new dev.backstop.worker.engine.InputsInSequence(
        new java.io.ByteArrayInputStream(SESSION_PRELUDE.getBytes(StandardCharsets.US_ASCII)), new MysqlDumpFilter(dump),
        new java.io.ByteArrayInputStream(SESSION_END.getBytes(StandardCharsets.US_ASCII)));
  }

  @Override
  protected int readChunk(byte[] b, int off, int len) throws IOException {
    while (ready.available() == 0) {
      if (refused != null) {
        throw refused;
      }
      if (ended) {
        return -1;
      }
      int n = source.read(chunk);
      ready.clear();
      // the lines before a refused one are passed on first: the client fails on what it had, or on nothing
      try {
        if (n < 0) {
          ended = true;
          finish();
        } else {
          accept(chunk, n);
        }
      } catch (ForbiddenStatement e) {
        refused = e;
      }
    }
    return ready.take(b, off, len);
  }

  @Override
  public void close() throws IOException {
    source.close();
  }

  /**
   * The first {@code n} bytes of {@code bytes}. Rows, nearly all of a dump, go on a line at a time (a search
   * for its end and one copy), not byte by byte: the filter must not cost more CPU than the client it feeds.
   */
  private void accept(byte[] bytes, int n) throws ForbiddenStatement {
    int i = 0;
    while (i < n) {
      if (mode != Mode.DATA) {
        accept(bytes[i++]);
        continue;
      }
      int end = i;
      while (end < n && bytes[end] != '\n') {
        end++;
      }
      for (int k = end - 1; k >= i; k--) {
        if (bytes[k] != '\r') {
          lastData = bytes[k];
          break;
        }
      }
      boolean newline = end < n;
      int stop = newline ? end + 1 : n;
      ready.write(bytes, i, stop - i);
      i = stop;
      if (newline) {
        inInsert = lastData != ';';
        newLine();
      }
    }
  }

  private void accept(byte b) throws ForbiddenStatement {
    switch (mode) {
      case DATA -> {
        ready.write(b);
        if (b == '\n') {
          inInsert = lastData != ';';
          newLine();
        } else if (b != '\r') {
          lastData = b;
        }
      }
      case LINE_START -> {
        prefix.write(b);
        if (b == '\n' || prefix.size() >= PREFIX) {
          classify();
        }
      }
      case STATEMENT -> statement(b);
    }
  }

  /**
   * A row line of an INSERT that goes on is data whatever it starts with: it skips the classification
   * (MariaDB's mysqldump writes each row on a line of its own, so that is nearly every line of a dump).
   */
  private void newLine() {
    mode = inInsert ? Mode.DATA : Mode.LINE_START;
    line++;
  }

  /** Decides what the line whose start is in {@code prefix} is, then passes those bytes on. */
  private void classify() throws ForbiddenStatement {
    byte[] start = prefix.toByteArray();
    prefix.reset();
    String text = new String(start, StandardCharsets.ISO_8859_1);
    if (inInsert || text.startsWith("INSERT INTO ")) {
      mode = Mode.DATA;
      for (byte b : start) {
        accept(b);
      }
      return;
    }
    String statement = LEADING.matcher(text).replaceFirst("").toUpperCase(Locale.ROOT);
    for (String forbidden : FORBIDDEN) {
      if (statement.startsWith(forbidden)) {
        throw new ForbiddenStatement("the dump holds a statement that leaves the scratch database (" + forbidden.strip()
            + " at line " + line + "): refused before it was run");
      }
    }
    mode = Mode.STATEMENT;
    for (byte b : start) {
      accept(b);
    }
  }

  private void statement(byte b) {
    if (clause != 0) {
      inClause(b);
      return;
    }
    if (b == DEFINER[definerMatched]) {
      held.write(b);
      if (++definerMatched == DEFINER.length) {
        clause = 1;
      }
      return;
    }
    if (definerMatched > 0) {
      release();
      statement(b);
      return;
    }
    ready.write(b);
    if (b == '\n') {
      newLine();
    }
  }

  /** A byte inside {@code DEFINER=`…`@`…`}: the clause is dropped once whole, passed on as it was if it is not one. */
  private void inClause(byte b) {
    boolean tooLong = held.size() >= MAX_CLAUSE;
    switch (clause) {
      case 1, 4 -> {
        if (b == '\n' || tooLong) {
          release();
          statement(b);
          return;
        }
        held.write(b);
        if (b == '`') {
          clause++;
        }
      }
      case 2 -> {
        if (b == '`') {
          held.write(b);
          clause = 1;
        } else if (b == '@') {
          held.write(b);
          clause = 3;
        } else {
          drop();
          statement(b);
        }
      }
      case 3 -> {
        if (b == '`') {
          held.write(b);
          clause = 4;
        } else {
          release();
          statement(b);
        }
      }
      case 5 -> {
        if (b == '`') {
          held.write(b);
          clause = 4;
        } else {
          drop();
          statement(b);
        }
      }
      default -> throw new IllegalStateException("clause state " + clause);
    }
  }

  /** What was held turned out not to be a definer clause: it goes on unchanged. */
  private void release() {
    byte[] bytes = held.toByteArray();
    held.reset();
    definerMatched = 0;
    clause = 0;
    for (byte b : bytes) {
      ready.write(b);
      if (b == '\n') {
        newLine();
      }
    }
  }

  /** A whole definer clause: removed. */
  private void drop() {
    held.reset();
    definerMatched = 0;
    clause = 0;
  }

  private void finish() throws ForbiddenStatement {
    if (mode == Mode.LINE_START && prefix.size() > 0) {
      classify();
    }
    if (clause == 2 || clause == 5) {
      drop();
    } else if (held.size() > 0) {
      release();
    }
  }

  /** A growable buffer read from the front, emptied before each chunk of the source is filtered into it. */
  private static final class Out extends ByteArrayOutputStream {
    private int position;

    Out() {
      super(1 << 17);
    }

    void clear() {
      reset();
      position = 0;
    }

    int available() {
      return count - position;
    }

    int take(byte[] b, int off, int len) {
      int n = Math.min(len, available());
      System.arraycopy(buf, position, b, off, n);
      position += n;
      return n;
    }
  }
}
