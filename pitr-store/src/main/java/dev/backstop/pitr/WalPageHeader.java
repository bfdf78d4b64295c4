package dev.backstop.pitr;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalLong;

/**
 * The cluster a WAL segment belongs to, read from its first page: PostgreSQL starts every segment with a
 * long page header ({@code XLogLongPageHeaderData}: magic, info with {@code XLP_LONG_HEADER}, timeline,
 * page address, remaining length, then {@code xlp_sysid}, {@code xlp_seg_size}, {@code xlp_xlog_blcksz})
 * in the server's byte order (little-endian on every platform Backstop runs on). Recovery refuses a segment
 * of another system ("WAL file is from different database system") and then ends early, taking it as the
 * end of WAL; the archive checks first, so that a segment of another cluster is never handed over as this one's.
 */
public final class WalPageHeader {

  private static final int XLP_LONG_HEADER = 0x0002;
  private static final int SYSID_OFFSET = 24;
  private static final int LONG_HEADER_SIZE = 40;

  private WalPageHeader() {}

  /**
   * The system identifier in the segment's long page header; empty when the bytes do not start with one
   * (zeros of an assembled segment with nothing at its start, or not WAL at all).
   */
  public static OptionalLong systemId(byte[] segment, long segmentSize) {
    if (segment.length < LONG_HEADER_SIZE) {
      return OptionalLong.empty();
    }
    ByteBuffer page = ByteBuffer.wrap(segment, 0, LONG_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    int magic = Short.toUnsignedInt(page.getShort(0));
    int info = Short.toUnsignedInt(page.getShort(2));
    long segSize = Integer.toUnsignedLong(page.getInt(32));
    long blockSize = Integer.toUnsignedLong(page.getInt(36));
    // every release since 9.x has a magic of 0xD0xx or 0xD1xx; with the sizes matching, random bytes never pass
    boolean looksLikeWal = (magic >> 8) >= 0xD0 && (magic >> 8) <= 0xD1 && (info & XLP_LONG_HEADER) != 0
        && segSize == segmentSize && blockSize >= 1024 && Long.bitCount(blockSize) == 1;
    return looksLikeWal ? OptionalLong.of(page.getLong(SYSID_OFFSET)) : OptionalLong.empty();
  }
}
