package dev.backstop.pitr;

import java.util.regex.Pattern;

/**
 * A WAL segment file's name as PostgreSQL writes it: {@code TTTTTTTTXXXXXXXXYYYYYYYY} (timeline, then the
 * segment number split into "log" and "segment within log" for the configured segment size).
 */
public record WalSegmentName(int timeline, long segmentNumber, long segmentSize) {

  private static final Pattern NAME = Pattern.compile("[0-9A-F]{24}");
  private static final Pattern HISTORY = Pattern.compile("([0-9A-F]{8})\\.history");

  public WalSegmentName {
    if (timeline < 1) {
      throw new IllegalArgumentException("timelines start at 1: " + timeline);
    }
    if (segmentSize < 1024 * 1024 || Long.bitCount(segmentSize) != 1) {
      throw new IllegalArgumentException("WAL segment size must be a power of two ≥ 1 MiB: " + segmentSize);
    }
  }

  public static WalSegmentName of(int timeline, Lsn lsn, long segmentSize) {
    return new WalSegmentName(timeline, lsn.segmentNumber(segmentSize), segmentSize);
  }

  /** Parses a segment file name; {@link IllegalArgumentException} for anything else (history, partial, backup files). */
  public static WalSegmentName parse(String fileName, long segmentSize) {
    if (!NAME.matcher(fileName).matches()) {
      throw new IllegalArgumentException("not a WAL segment name: " + fileName);
    }
    int timeline = Integer.parseUnsignedInt(fileName.substring(0, 8), 16);
    long log = Long.parseLong(fileName.substring(8, 16), 16);
    long seg = Long.parseLong(fileName.substring(16, 24), 16);
    long perLog = segmentsPerLog(segmentSize);
    if (seg >= perLog) {
      throw new IllegalArgumentException("not a WAL segment name for " + segmentSize + "-byte segments: " + fileName);
    }
    return new WalSegmentName(timeline, log * perLog + seg, segmentSize);
  }

  public static boolean isSegment(String fileName) {
    return NAME.matcher(fileName).matches();
  }

  /** The timeline a {@code TTTTTTTT.history} file name stands for, or -1 when the name is not one. */
  public static int historyTimeline(String fileName) {
    var m = HISTORY.matcher(fileName);
    return m.matches() ? Integer.parseUnsignedInt(m.group(1), 16) : -1;
  }

  public static String historyFileName(int timeline) {
    return String.format("%08X.history", timeline);
  }

  public Lsn startLsn() {
    return new Lsn(segmentNumber * segmentSize);
  }

  public Lsn endLsn() {
    return new Lsn((segmentNumber + 1) * segmentSize);
  }

  public WalSegmentName next() {
    return new WalSegmentName(timeline, segmentNumber + 1, segmentSize);
  }

  public String fileName() {
    long perLog = segmentsPerLog(segmentSize);
    return String.format("%08X%08X%08X", timeline, segmentNumber / perLog, segmentNumber % perLog);
  }

  private static long segmentsPerLog(long segmentSize) {
    return 0x100000000L / segmentSize;
  }

  @Override
  public String toString() {
    return fileName();
  }
}
