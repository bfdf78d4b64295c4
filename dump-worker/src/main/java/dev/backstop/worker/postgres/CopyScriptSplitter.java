package dev.backstop.worker.postgres;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * Splits the rows of a {@code pg_restore --data-only -f -} script of a dump's table data between several
 * connections, each of which loads what it gets with {@code COPY … FROM stdin}: the rows of one table,
 * a quarter of a megabyte at a time, go to each connection in turn, so that a table too large for one
 * server process is loaded by several at once.
 *
 * <p>What each connection gets is this splitter's to vouch for, since it is run by {@code psql}: the
 * script's session settings, only when each is one of pg_restore's own plain {@code SET}s; each table's
 * {@code COPY} statement, only when nothing but its quoted identifiers strays from what pg_dump writes
 * (so no meta-command or second statement rides on it); and the rows, which hold no line {@code \.} but
 * the one that ends them (COPY's text format escapes every backslash). Comments and pg_restore's
 * {@code \restrict} lines are left out: the only lines where a dump's names could appear unquoted. A
 * script that holds anything else (a dump taken with {@code --inserts}) is refused, not passed on.
 */
final class CopyScriptSplitter extends OutputStream {

  /** Where the splitter's output goes. */
  interface Connections {
    /**
     * Appends to connection {@code connection}'s input; the bytes are lent for the call only. A connection's turn ends at a line's end, so what each
     * gets is whole rows, though a call may end mid-row (the rest comes with the next).
     */
    void write(int connection, byte[] b, int off, int len) throws IOException;
  }

  /** Rows given to one connection before the next one's turn; about what one of pg_restore's reads holds. */
  static final int SLICE = 1 << 18;
  /** A setting or a statement longer than this is not one pg_restore writes. */
  private static final int LONGEST_LINE = 1 << 16;
  private static final Pattern SETTING = Pattern.compile("SET [a-z_]+ = ('[A-Za-z0-9_ -]*'|[A-Za-z0-9_]+(, [A-Za-z0-9_]+)*);\n");
  private static final String SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', '', false);";
  private static final byte[] END_OF_ROWS = "\\.\n".getBytes(StandardCharsets.US_ASCII);

  private final Connections connections;
  private final int count;
  private final boolean[] copying;
  private final byte[] line = new byte[LONGEST_LINE];
  private int lineLength;
  /** The COPY statement read so far, until it is whole; then the one each connection starts its share with. */
  private byte[] statement;
  private boolean inRows;
  private boolean atLineStart = true;
  /** The connection whose turn it is, and the rows it was given in this turn. */
  private int turn;
  private int given;

  CopyScriptSplitter(Connections connections, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("at least one connection");
    }
    this.connections = connections;
    this.count = count;
    this.copying = new boolean[count];
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    int end = off + len;
    int at = off;
    while (at < end) {
      at = inRows ? rows(b, at, end) : text(b, at, end);
    }
  }

  /** The script's end: it must not end inside a statement or a table's rows. */
  void finish() throws IOException {
    if (inRows || statement != null || lineLength > 0) {
      throw refused("ends inside a table's rows");
    }
  }

  /** Reads script text outside rows a line at a time; returns where it stopped. */
  private int text(byte[] b, int at, int end) throws IOException {
    int newline = indexOf(b, at, end, (byte) '\n');
    int stop = newline < 0 ? end : newline + 1;
    if (lineLength + stop - at > LONGEST_LINE) {
      throw refused("holds a line longer than " + LONGEST_LINE + " bytes outside a table's rows");
    }
    System.arraycopy(b, at, line, lineLength, stop - at);
    lineLength += stop - at;
    if (newline < 0) {
      return end;
    }
    // bytes as they are: a quoted identifier in the dump's encoding passes on unchanged
    String text = new String(line, 0, lineLength, StandardCharsets.ISO_8859_1);
    lineLength = 0;
    if (statement != null) {
      statement(text);
    } else if (text.equals("\n") || text.startsWith("--") || text.startsWith("\\restrict ")
        || text.startsWith("\\unrestrict ")) {
      // comments and psql's restrict key: nothing a connection needs
    } else if (SETTING.matcher(text).matches() || text.equals(SEARCH_PATH + "\n")) {
      byte[] setting = text.getBytes(StandardCharsets.ISO_8859_1);
      for (int c = 0; c < count; c++) {
        connections.write(c, setting, 0, setting.length);
      }
    } else if (text.startsWith("COPY ")) {
      statement = new byte[0];
      statement(text);
    } else {
      throw refused("holds a statement other than a setting or a table's COPY");
    }
    return newline + 1;
  }

  /** Adds a line to the COPY statement; once it is whole, the rows follow. */
  private void statement(String text) throws IOException {
    if (statement.length + text.length() > LONGEST_LINE) {
      throw refused("holds a COPY statement longer than " + LONGEST_LINE + " bytes");
    }
    String whole = new String(statement, StandardCharsets.ISO_8859_1) + text;
    statement = whole.getBytes(StandardCharsets.ISO_8859_1);
    switch (copyStatement(whole)) {
      case WHOLE -> {
        inRows = true;
        atLineStart = true;
        Arrays.fill(copying, false);
      }
      case UNFINISHED -> { }
      case REFUSED -> throw refused("holds a COPY statement unlike pg_dump's");
    }
  }

  enum Statement { WHOLE, UNFINISHED, REFUSED }

  /**
   * Whether {@code text} (lines, each with its line break) is a COPY statement as pg_dump writes one:
   * outside double quotes only plain identifiers, dots, commas, parentheses and spaces, then
   * {@code FROM stdin;} and the line's end; inside them anything, line breaks included (a quoted
   * identifier may hold one), so a statement whose quotes are still open is unfinished.
   */
  static Statement copyStatement(String text) {
    boolean quoted = false;
    int last = text.length() - 1;
    for (int k = 0; k <= last; k++) {
      char c = text.charAt(k);
      if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
          || c == ',' || c == '(' || c == ')' || c == ' ' || c == ';' && k == last - 1 || c == '\n' && k == last)) {
        return Statement.REFUSED;
      }
    }
    if (quoted) {
      return Statement.UNFINISHED;
    }
    // no quote in the suffix, none open: it is outside quotes, and the one semicolon
    return text.startsWith("COPY ") && text.endsWith(" FROM stdin;\n") ? Statement.WHOLE : Statement.REFUSED;
  }

  /** Passes rows on, turn by turn, until the line {@code \.}; returns where it stopped. */
  private int rows(byte[] b, int at, int end) throws IOException {
    if (lineLength > 0) {
      return backslashLine(b, at, end);
    }
    int from = at;
    int k = at;
    while (k < end) {
      if (atLineStart && b[k] == '\\') {
        if (from < k) {
          give(b, from, k);
        }
        return backslashLine(b, k, end);
      }
      int newline = indexOf(b, k, end, (byte) '\n');
      if (newline < 0) {
        atLineStart = false;
        k = end;
        break;
      }
      k = newline + 1;
      atLineStart = true;
      if (given + (k - from) >= SLICE) {
        give(b, from, k);
        from = k;
        turn = (turn + 1) % count;
        given = 0;
      }
    }
    if (from < k) {
      give(b, from, k);
    }
    return k;
  }

  /**
   * At a line starting with a backslash (gathered across writes when they split it): a row whose first
   * column starts with an escape ({@code \N}, a null), the end of the rows ({@code \.}, passed to each
   * connection that had some), or a refusal. Returns where to go on.
   */
  private int backslashLine(byte[] b, int k, int end) throws IOException {
    int before = lineLength;
    int have = Math.min(END_OF_ROWS.length - lineLength, end - k);
    System.arraycopy(b, k, line, lineLength, have);
    lineLength += have;
    if (lineLength >= 2 && line[1] != '.') {
      if (before > 0) {
        give(line, 0, before);
      }
      lineLength = 0;
      atLineStart = false;
      return k;
    }
    if (!Arrays.equals(line, 0, lineLength, END_OF_ROWS, 0, lineLength)) {
      throw refused("holds a row starting with \\., which COPY's text format never writes");
    }
    if (lineLength < END_OF_ROWS.length) {
      return end;
    }
    lineLength = 0;
    for (int c = 0; c < count; c++) {
      if (copying[c]) {
        connections.write(c, END_OF_ROWS, 0, END_OF_ROWS.length);
      }
    }
    statement = null;
    inRows = false;
    // the next table starts with the connection after this one's last, so small tables spread too
    turn = (turn + 1) % count;
    given = 0;
    return k + have;
  }

  /** Rows {@code [from, to)} to the connection whose turn it is, after the table's COPY statement if they are its first. */
  private void give(byte[] b, int from, int to) throws IOException {
    if (!copying[turn]) {
      copying[turn] = true;
      connections.write(turn, statement, 0, statement.length);
    }
    connections.write(turn, b, from, to - from);
    given += to - from;
  }

  private static int indexOf(byte[] b, int from, int to, byte wanted) {
    for (int k = from; k < to; k++) {
      if (b[k] == wanted) {
        return k;
      }
    }
    return -1;
  }

  private static Refused refused(String what) {
    return new Refused("pg_restore's script of the dump's table data " + what + ": it was not loaded over several connections");
  }

  /** A script this splitter will not pass on: the dump's failure, unlike a read that failed. */
  static final class Refused extends IOException {
    Refused(String message) {
      super(message);
    }
  }
}
