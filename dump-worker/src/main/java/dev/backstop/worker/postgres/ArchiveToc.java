package dev.backstop.worker.postgres;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The head of a pg_dump custom-format archive, read off the stream that carries it: its header and table of
 * contents (each entry's SQL, its section and whether a data block follows), which is all that
 * {@code pg_restore} needs to restore the schema ({@code --section=pre-data}) and the indexes and constraints
 * ({@code --section=post-data}). Written to a file of its own, it lets those run while the data blocks are
 * still on their way: the dump need not be spooled whole.
 *
 * <p>Read as pg_restore reads it ({@code ReadHead} and {@code ReadToc} of pg_backup_archiver.c): integers as a
 * sign byte and {@code intSize} little-endian bytes, strings as such a length (-1: none) and the bytes, the
 * custom format's offset after each entry. Archive versions 1.12 to 1.16 (PostgreSQL 9.0 to 18); any other, a
 * stream that is not such an archive, or a head larger than {@code limit}, reads as unknown.
 */
final class ArchiveToc {

  /** One entry of the table of contents. */
  record Entry(int dumpId, boolean hasData, String desc) {}

  /** What was read: the bytes (to be given back to whoever reads the stream next) and the entries, or none. */
  record Read(byte[] head, List<Entry> entries) {

    /** Whether the archive's head was understood. */
    boolean known() {
      return entries != null;
    }

    /**
     * Whether every data block belongs to a table's rows: other blocks (large objects) are restored by a
     * pg_restore that reads the archive in its order, which only a spooled copy allows beside the rows.
     */
    boolean onlyTablesHaveData() {
      return known() && entries.stream().allMatch(e -> !e.hasData() || e.desc().equals("TABLE DATA"));
    }
  }

  private final InputStream in;
  private final ByteArrayOutputStream head = new ByteArrayOutputStream(1 << 16);
  private final long limit;
  private int intSize;

  private ArchiveToc(InputStream in, long limit) {
    this.in = in;
    this.limit = limit;
  }

  /**
   * Reads the head of the archive {@code in} carries, no further than its table of contents.
   *
   * @param limit the most bytes read before giving up (entries null; what was read is returned all the same)
   * @throws IOException {@code in} could not be read
   */
  static Read read(InputStream in, long limit) throws IOException {
    ArchiveToc reader = new ArchiveToc(in, limit);
    List<Entry> entries;
    try {
      entries = reader.toc();
    } catch (Unknown | EOFException e) {
      entries = null;
    }
    return new Read(reader.head.toByteArray(), entries);
  }

  private List<Entry> toc() throws IOException {
    byte[] magic = bytes(5);
    if (!new String(magic, StandardCharsets.US_ASCII).equals("PGDMP")) {
      throw new Unknown();
    }
    int major = octet();
    int minor = octet();
    octet(); // revision
    if (major != 1 || minor < 12 || minor > 16) {
      throw new Unknown();
    }
    intSize = octet();
    int offSize = octet();
    int format = octet();
    if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 16 || format != 1) {
      throw new Unknown(); // format 1 is custom
    }
    if (minor >= 15) {
      octet(); // compression algorithm
    } else {
      integer(); // compression level
    }
    for (int k = 0; k < 7; k++) {
      integer(); // creation time
    }
    string(); // database name
    string(); // server version
    string(); // pg_dump version
    long count = integer();
    if (count < 0 || count > limit) {
      throw new Unknown();
    }
    List<Entry> entries = new ArrayList<>();
    for (long k = 0; k < count; k++) {
      int dumpId = (int) integer();
      boolean hadDumper = integer() != 0;
      string(); // table oid
      string(); // oid
      string(); // tag
      String desc = string();
      integer(); // section
      for (int s = 0; s < 5; s++) {
        string(); // definition, drop statement, COPY statement, namespace, tablespace
      }
      if (minor >= 14) {
        string(); // table access method
      }
      if (minor >= 16) {
        integer(); // relkind
      }
      string(); // owner
      string(); // WITH OIDS
      while (string() != null) {
        // dependencies, to the null that ends them
      }
      octet(); // the custom format's offset: a flag, then offSize bytes
      bytes(offSize);
      if (dumpId <= 0 || desc == null) {
        throw new Unknown();
      }
      entries.add(new Entry(dumpId, hadDumper, desc));
    }
    return entries;
  }

  private long integer() throws IOException {
    int sign = octet();
    long value = 0;
    for (int b = 0; b < intSize; b++) {
      value |= (long) octet() << (8 * b);
    }
    return sign == 0 ? value : -value;
  }

  private String string() throws IOException {
    long length = integer();
    if (length < 0) {
      return null;
    }
    if (head.size() + length > limit) {
      throw new Unknown();
    }
    return new String(bytes((int) length), StandardCharsets.UTF_8);
  }

  private int octet() throws IOException {
    return bytes(1)[0] & 0xff;
  }

  private byte[] bytes(int n) throws IOException {
    if (head.size() + n > limit) {
      throw new Unknown();
    }
    byte[] read = in.readNBytes(n);
    head.write(read, 0, read.length);
    if (read.length < n) {
      throw new EOFException();
    }
    return read;
  }

  /** A head this reader does not know, or larger than its limit. */
  private static final class Unknown extends IOException {
    Unknown() {
      super("not an archive head this reader knows");
    }
  }
}
