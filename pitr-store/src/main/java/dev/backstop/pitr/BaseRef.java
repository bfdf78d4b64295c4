package dev.backstop.pitr;

import java.time.Instant;

/** A base backup (kind PITR_BASE) as the window uses it: restorable from {@code endTime} once WAL to {@code stopLsn} is archived. */
public record BaseRef(String backupId, Instant endTime, int timeline, Lsn startLsn, Lsn stopLsn) {}
