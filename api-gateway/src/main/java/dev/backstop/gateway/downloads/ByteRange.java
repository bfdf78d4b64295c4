package dev.backstop.gateway.downloads;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one byte range of a {@code Range} header (RFC 9110 §14) that a download serves. What cannot be
 * served as one range is ignored, as RFC 9110 allows, and the whole archive is sent: another unit, an
 * invalid range ({@code bytes=5-2}, garbage) or several ranges. A valid range that starts beyond the
 * end is unsatisfiable (416). Numbers of any length are read without overflow
 * (but a header has a bounded length: Tomcat's header size limit).
 */
public sealed interface ByteRange {

  /** Send everything (no Range, or one to ignore). */
  record Whole() implements ByteRange {}

  /** Send {@code start..end}, both inclusive, within the size. */
  record Part(long start, long end) implements ByteRange {}

  /** A valid range that selects nothing of an archive of this size. */
  record Unsatisfiable() implements ByteRange {}

  Pattern SPEC = Pattern.compile("([0-9]*)-([0-9]*)");

  static ByteRange of(String header, long size) {
    if (header == null) {
      return new Whole();
    }
    String value = header.strip();
    int eq = value.indexOf('=');
    if (eq < 0 || !value.substring(0, eq).strip().toLowerCase(Locale.ROOT).equals("bytes")) {
      return new Whole();
    }
    Matcher m = SPEC.matcher(value.substring(eq + 1).strip());
    if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
      return new Whole();
    }
    if (m.group(1).isEmpty()) {
      BigInteger suffix = new BigInteger(m.group(2));
      if (suffix.signum() == 0 || size == 0) {
        return new Unsatisfiable();
      }
      return new Part(size - suffix.min(BigInteger.valueOf(size)).longValueExact(), size - 1);
    }
    BigInteger first = new BigInteger(m.group(1));
    BigInteger last = m.group(2).isEmpty() ? null : new BigInteger(m.group(2));
    if (last != null && last.compareTo(first) < 0) {
      return new Whole();
    }
    if (first.compareTo(BigInteger.valueOf(size)) >= 0) {
      return new Unsatisfiable();
    }
    long end = last == null ? size - 1 : last.min(BigInteger.valueOf(size - 1)).longValueExact();
    return new Part(first.longValueExact(), end);
  }
}
