package dev.backstop.pitr;

/**
 * A PostgreSQL WAL position (log sequence number): an unsigned 64-bit byte offset into the WAL, written
 * {@code X/Y} by the server (two hex halves). Ordered as unsigned numbers; real LSNs stay far below 2^63.
 */
public record Lsn(long value) implements Comparable<Lsn> {

  public static final Lsn ZERO = new Lsn(0);

  /** Parses the server's {@code X/Y} form, e.g. {@code 0/40001C0}. */
  public static Lsn parse(String text) {
    int slash = text.indexOf('/');
    if (slash <= 0 || slash == text.length() - 1) {
      throw new IllegalArgumentException("not an LSN: " + text);
    }
    long high = Long.parseLong(text.substring(0, slash), 16);
    long low = Long.parseLong(text.substring(slash + 1), 16);
    if (high > 0xFFFFFFFFL || low > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("not an LSN: " + text);
    }
    return new Lsn((high << 32) | low);
  }

  /** The 16-hex-digit form used in store keys, which sorts like the LSN. */
  public static Lsn fromHex16(String hex) {
    if (hex.length() != 16) {
      throw new IllegalArgumentException("not a 16-digit LSN: " + hex);
    }
    return new Lsn(Long.parseUnsignedLong(hex, 16));
  }

  public String hex16() {
    return String.format("%016X", value);
  }

  public Lsn plus(long bytes) {
    return new Lsn(value + bytes);
  }

  public long minus(Lsn other) {
    return value - other.value;
  }

  public boolean isBefore(Lsn other) {
    return compareTo(other) < 0;
  }

  public boolean isAfter(Lsn other) {
    return compareTo(other) > 0;
  }

  /** The number of the segment holding this position, for segments of {@code segmentSize} bytes. */
  public long segmentNumber(long segmentSize) {
    return Long.divideUnsigned(value, segmentSize);
  }

  /** The first position of the segment holding this one. */
  public Lsn segmentStart(long segmentSize) {
    return new Lsn(value - Long.remainderUnsigned(value, segmentSize));
  }

  public static Lsn max(Lsn a, Lsn b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  @Override
  public int compareTo(Lsn other) {
    return Long.compareUnsigned(value, other.value);
  }

  @Override
  public String toString() {
    return String.format("%X/%X", value >>> 32, value & 0xFFFFFFFFL);
  }
}
