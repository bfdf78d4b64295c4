package dev.backstop.worker.mysql;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Splits a mysqldump's rows between two connections of a restore test, so that the scratch server loads a
 * table on two cores where one connection keeps one busy ({@code mysql <} is the limit of a MariaDB restore
 * test: docs/benchmarks.md). Everything but rows goes to the main connection, in the dump's order, as one
 * client would run it; the second connection gets only:
 *
 * <ul>
 *   <li>the dump's session settings, every {@code SET} statement on a line of its own outside a
 *       {@code DELIMITER} block ({@code SET NAMES binary}, the time zone, the SQL mode, a table's character
 *       set), at the same place among the rows as on the main connection, so that a row means the same
 *       bytes on both;</li>
 *   <li>every other {@code INSERT} statement of a table's data section, the lines mysqldump writes between
 *       {@code LOCK TABLES `t` WRITE;} and {@code UNLOCK TABLES;}. Those two lines are dropped: a lock held by
 *       one connection would stop the other's inserts, and nothing else uses a scratch database.</li>
 * </ul>
 *
 * Order across connections is kept with {@link Connections#sync}: the second connection gets a table's rows
 * only once the main one has run everything before them (the table exists), and the main connection gets
 * what follows a table's rows (its triggers, {@code ENABLE KEYS}, the next table) only once the second has
 * run and committed its share, so that no trigger fires on a loaded row. A dump without data sections (a
 * hand-made one, {@code --skip-add-locks}) goes to the main connection whole, as does everything after a
 * session setting the second connection could not replay (a {@code SET} over several lines, or longer than
 * {@value #MAX_LINE} bytes).
 *
 * <p>The input is the dump as {@link MysqlDumpFilter} passes it on; rows stream through in the chunks they
 * come in, never held whole (a line of rows can be megabytes long).
 */
final class RowSplitter {

  /** The two connections' inputs. */
  interface Connections {
    /**
     * Appends {@code len} bytes of {@code b} to a connection's input; {@code b} is not written to afterwards.
     * They are part of one line of the dump: a line break, if any, is their last byte.
     *
     * @param dumpLine the line of the dump those bytes start on, counted from 1: what a client's error about
     *     its own input line says of the dump
     */
    void write(int connection, long dumpLine, byte[] b, int off, int len) throws IOException;

    /**
     * Returns once the connection has run (and, the second one, committed) everything written to it so far.
     *
     * @throws IOException a connection failed or the load was given up meanwhile
     */
    void sync(int connection) throws IOException;
  }

  static final int MAIN = 0;
  static final int SECOND = 1;
  /** A line other than rows longer than this is not one of mysqldump's settings or locks: it streams to the main connection. */
  static final int MAX_LINE = 1 << 16;
  private static final int PREFIX = 96;
  private static final byte[] INSERT = "INSERT INTO ".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern LEADING = Pattern.compile("^(\\s|/\\*M?!\\d*)*");
  private static final Pattern LOCK = Pattern.compile("LOCK TABLES `(?:[^`]|``)+` WRITE;");
  private static final Pattern UNLOCK = Pattern.compile("UNLOCK TABLES;");
  private static final Pattern DELIMITER = Pattern.compile("(?i)DELIMITER\\s+(\\S+)\\s*");

  private enum Line {
    /** Collecting its first bytes (all of it, for a line that is not rows) to decide where it goes. */
    START,
    /** Rows: the rest of the line streams to {@link #rowsTo}. */
    ROWS,
    /** Too long to be a setting or a lock: the rest of the line streams to the main connection. */
    LONG
  }

  private final Connections connections;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private Line state = Line.START;
  private String delimiter = ";";
  private boolean inDataSection;
  /** After a setting the second connection cannot replay: everything goes to the main one from there. */
  private boolean oneConnection;
  /** The main connection got statements other than rows since its last sync; the second, rows. */
  private boolean mainAhead;
  private boolean secondHasRows;
  /** An INSERT goes on over the next line ({@code ;} not reached): that line goes to {@link #rowsTo} too. */
  private boolean rowsOpen;
  private int rowsTo = MAIN;
  private int nextRowsTo = MAIN;
  /** Another statement goes on over the next line: that line goes to the main connection whatever it looks like. */
  private boolean statementOpen;
  /** The last byte other than blanks of the line streaming, 0 if none yet. */
  private byte lastByte;
  private long dumpLine = 1;

  RowSplitter(Connections connections) {
    this.connections = connections;
  }

  /** The next {@code n} bytes of the dump, in a buffer the caller does not write to afterwards. */
  void accept(byte[] chunk, int n) throws IOException {
    int i = 0;
    while (i < n) {
      if (state == Line.START) {
        if (line.size() == 0 && rowsOpen) {
          state = Line.ROWS;
          lastByte = 0;
          continue;
        }
        byte b = chunk[i++];
        line.write(b);
        if (b == '\n') {
          wholeLine();
          dumpLine++;
        } else if (line.size() == INSERT.length && rowsMayStart() && startsWithInsert()) {
          startRows();
        } else if (line.size() >= MAX_LINE) {
          longLine();
        }
        continue;
      }
      int end = i;
      while (end < n && chunk[end] != '\n') {
        end++;
      }
      lastByte = lastNonBlank(chunk, i, end, lastByte);
      boolean newline = end < n;
      int stop = newline ? end + 1 : n;
      connections.write(state == Line.ROWS ? rowsTo : MAIN, dumpLine, chunk, i, stop - i);
      i = stop;
      if (newline) {
        dumpLine++;
        if (state == Line.ROWS) {
          rowsOpen = lastByte != ';';
        } else if (delimiter.equals(";")) {
          statementOpen = lastByte != ';';
        }
        state = Line.START;
      }
    }
  }

  /** The dump's end: a last line without its line break goes where it belongs. */
  void finish() throws IOException {
    if (state == Line.START && line.size() > 0) {
      wholeLine();
    }
  }

  private boolean rowsMayStart() {
    return inDataSection && !oneConnection && !statementOpen;
  }

  private boolean startsWithInsert() {
    byte[] start = line.toByteArray();
    return java.util.Arrays.equals(start, 0, INSERT.length, INSERT, 0, INSERT.length);
  }

  /** The first bytes of an INSERT: its rows go to the connection whose turn it is. */
  private void startRows() throws IOException {
    rowsTo = nextRowsTo;
    nextRowsTo = rowsTo == MAIN ? SECOND : MAIN;
    if (rowsTo == SECOND) {
      if (mainAhead) {
        // the table must exist, and whatever came before its rows must have run, before the second connection inserts
        connections.sync(MAIN);
        mainAhead = false;
      }
      secondHasRows = true;
    }
    byte[] bytes = line.toByteArray();
    line.reset();
    connections.write(rowsTo, dumpLine, bytes, 0, bytes.length);
    state = Line.ROWS;
    lastByte = lastNonBlank(bytes, 0, bytes.length, (byte) 0);
  }

  /** A line other than rows, whole: a setting for both connections, a lock dropped, or a statement for the main one. */
  private void wholeLine() throws IOException {
    byte[] bytes = line.toByteArray();
    line.reset();
    String text = new String(bytes, StandardCharsets.ISO_8859_1).strip();
    var change = DELIMITER.matcher(text);
    if (!delimiter.equals(";")) {
      // a block of routines or triggers: the main connection's alone, to its end
      other(bytes);
      if (change.matches()) {
        delimiter = change.group(1);
        statementOpen = false;
      }
      return;
    }
    boolean comment = text.isEmpty() || text.startsWith("--") || text.startsWith("#");
    if (comment) {
      // nothing for either connection to wait on
      connections.write(MAIN, dumpLine, bytes, 0, bytes.length);
      return;
    }
    if (statementOpen) {
      other(bytes);
      statementOpen = !text.endsWith(";");
      return;
    }
    if (change.matches()) {
      other(bytes);
      delimiter = change.group(1);
      return;
    }
    String statement = LEADING.matcher(text).replaceFirst("");
    if (statement.startsWith("\\")) {
      // a client command, whole on its line, for both clients: MariaDB's dump starts with
      // /*M!999999\- enable the sandbox mode */, which stops a client from running the shell or reading files
      other(bytes);
      if (!oneConnection) {
        connections.write(SECOND, dumpLine, bytes, 0, bytes.length);
      }
      return;
    }
    if (!oneConnection) {
      if (isSetting(statement)) {
        if (text.endsWith(";")) {
          connections.write(MAIN, dumpLine, bytes, 0, bytes.length);
          connections.write(SECOND, dumpLine, bytes, 0, bytes.length);
          return;
        }
        // over several lines: the second connection could not follow the session any more
        oneConnection = true;
      } else if (!inDataSection && LOCK.matcher(text).matches()) {
        inDataSection = true;
        nextRowsTo = MAIN;
        return;
      } else if (inDataSection && UNLOCK.matcher(text).matches()) {
        inDataSection = false;
        return;
      }
    }
    other(bytes);
    statementOpen = !text.endsWith(";");
  }

  /** The first {@value #MAX_LINE} bytes of a line that is not rows: the rest streams after them to the main connection. */
  private void longLine() throws IOException {
    byte[] bytes = line.toByteArray();
    line.reset();
    String start = new String(bytes, 0, PREFIX, StandardCharsets.ISO_8859_1);
    if (!statementOpen && delimiter.equals(";") && isSetting(LEADING.matcher(start).replaceFirst(""))) {
      oneConnection = true;
    }
    other(bytes);
    state = Line.LONG;
    lastByte = lastNonBlank(bytes, 0, bytes.length, (byte) 0);
  }

  /** {@code SET} and whatever may follow it ({@code SET @a}, {@code SET\tNAMES}), not a word that starts with it. */
  private static boolean isSetting(String statement) {
    return statement.length() > 3 && statement.substring(0, 3).toUpperCase(Locale.ROOT).equals("SET")
        && !Character.isLetterOrDigit(statement.charAt(3)) && statement.charAt(3) != '_' && statement.charAt(3) != '$';
  }

  /** A statement other than rows: on the main connection, once the second has run the rows it was given. */
  private void other(byte[] bytes) throws IOException {
    if (secondHasRows) {
      connections.sync(SECOND);
      secondHasRows = false;
    }
    mainAhead = true;
    connections.write(MAIN, dumpLine, bytes, 0, bytes.length);
  }

  private static byte lastNonBlank(byte[] bytes, int from, int to, byte previous) {
    for (int k = to - 1; k >= from; k--) {
      byte b = bytes[k];
      if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
        return b;
      }
    }
    return previous;
  }
}
