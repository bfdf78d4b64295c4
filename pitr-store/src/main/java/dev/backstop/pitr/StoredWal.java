package dev.backstop.pitr;

/**
 * One WAL object in the store: a whole segment ({@code chunk == false}, range = the segment) or a chunk
 * of one ({@code [start, end)} as received).
 */
public record StoredWal(String key, WalSegmentName segment, Lsn start, Lsn end, boolean chunk) {}
