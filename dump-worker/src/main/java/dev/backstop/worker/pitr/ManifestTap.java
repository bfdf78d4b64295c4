package dev.backstop.worker.pitr;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Passes {@code pg_basebackup -Ft -D -}'s tar stream through unchanged while reading its member headers
 * as they go by, keeping {@code backup_label} and the tail of {@code backup_manifest}: where the
 * manifest's {@code WAL-Ranges} are. Reading the stream as it is written (instead of reading the stored
 * archive back, or spooling the tar) costs nothing but this pass.
 *
 * <p>The tar is ustar as PostgreSQL writes it: 512-byte records, a header record per member, its data
 * padded to whole records, two zero records at the end. Sizes are octal, or base-256 for members over
 * 8 GiB. A pax or GNU long-name header only names the member after it, which is never one of the two
 * files kept (both are top-level, short names).
 */
final class ManifestTap extends FilterOutputStream {

  private static final int RECORD = 512;
  /** The manifest's WAL-Ranges and checksum are its last lines; the rest lists every file, and can be large. */
  static final int MANIFEST_TAIL = 64 * 1024;
  private static final int LABEL_MAX = 64 * 1024;

  private final byte[] header = new byte[RECORD];
  private int headerFill;
  /** Bytes of the current member's data (with its padding) still to pass before the next header. */
  private long dataLeft;
  private long padLeft;
  private Kept keeping;
  private boolean ended;
  private final Tail manifestTail = new Tail(MANIFEST_TAIL);
  private final ByteArrayOutputStream label = new ByteArrayOutputStream();
  private boolean sawManifest;
  private boolean sawLabel;
  private long total;

  private enum Kept { MANIFEST, LABEL }

  ManifestTap(OutputStream out) {
    super(out);
  }

  /** Bytes passed so far. */
  long bytes() {
    return total;
  }

  /** The end of {@code backup_manifest} (at most {@link #MANIFEST_TAIL} bytes), or null when the stream had none. */
  String manifestTail() {
    return sawManifest ? manifestTail.text() : null;
  }

  /** {@code backup_label}, or null when the stream had none. */
  String backupLabel() {
    return sawLabel ? label.toString(StandardCharsets.UTF_8) : null;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    total += len;
    int i = off;
    int end = off + len;
    while (i < end && !ended) {
      if (dataLeft > 0) {
        int n = (int) Math.min(dataLeft, end - i);
        keep(b, i, n);
        dataLeft -= n;
        i += n;
        if (dataLeft == 0) {
          keeping = null;
        }
      } else if (padLeft > 0) {
        int n = (int) Math.min(padLeft, end - i);
        padLeft -= n;
        i += n;
      } else {
        int n = Math.min(RECORD - headerFill, end - i);
        System.arraycopy(b, i, header, headerFill, n);
        headerFill += n;
        i += n;
        if (headerFill == RECORD) {
          headerFill = 0;
          startMember();
        }
      }
    }
  }

  private void keep(byte[] b, int off, int len) {
    if (keeping == Kept.MANIFEST) {
      manifestTail.write(b, off, len);
    } else if (keeping == Kept.LABEL && label.size() + len <= LABEL_MAX) {
      label.write(b, off, len);
    }
  }

  private void startMember() throws IOException {
    if (allZero(header)) {
      ended = true; // the end-of-archive records; nothing after them is a member
      return;
    }
    String name = text(0, 100);
    long size = size();
    char type = (char) header[156];
    boolean regular = type == '0' || type == '\0';
    keeping = null;
    if (regular && text(345, 155).isEmpty()) {
      if (name.equals("backup_manifest")) {
        keeping = Kept.MANIFEST;
        sawManifest = true;
      } else if (name.equals("backup_label")) {
        keeping = Kept.LABEL;
        sawLabel = true;
      }
    }
    dataLeft = size;
    padLeft = (RECORD - size % RECORD) % RECORD;
    if (size == 0) {
      keeping = null;
    }
  }

  private long size() throws IOException {
    if ((header[124] & 0x80) != 0) {
      long value = 0; // base-256: the remaining bytes, big-endian
      for (int i = 125; i < 136; i++) {
        value = (value << 8) | (header[i] & 0xff);
      }
      return value;
    }
    String octal = text(124, 12).trim();
    try {
      return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
    } catch (NumberFormatException e) {
      throw new IOException("pg_basebackup wrote a tar member header that cannot be read (size \"" + octal + "\")");
    }
  }

  private String text(int from, int length) {
    int end = from;
    while (end < from + length && header[end] != 0) {
      end++;
    }
    return new String(header, from, end - from, StandardCharsets.UTF_8);
  }

  private static boolean allZero(byte[] record) {
    for (byte b : record) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** The last {@code capacity} bytes written. */
  private static final class Tail {
    private final byte[] ring;
    private long written;

    Tail(int capacity) {
      ring = new byte[capacity];
    }

    void write(byte[] b, int off, int len) {
      for (int i = Math.max(0, len - ring.length); i < len; i++) {
        ring[(int) ((written + i) % ring.length)] = b[off + i];
      }
      written += len;
    }

    String text() {
      int size = (int) Math.min(written, ring.length);
      byte[] ordered = new byte[size];
      for (int i = 0; i < size; i++) {
        ordered[i] = ring[(int) ((written - size + i) % ring.length)];
      }
      return new String(ordered, StandardCharsets.UTF_8);
    }
  }
}
