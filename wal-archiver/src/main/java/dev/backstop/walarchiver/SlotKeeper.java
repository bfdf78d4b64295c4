package dev.backstop.walarchiver;

import dev.backstop.pitr.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Backstop's physical replication slot on a node: created when missing (reserving WAL at once, so its
 * {@code restart_lsn} is never null), inspected for the {@code max_slot_wal_keep_size} cap, dropped when
 * the addon goes. Works on a primary and on a standby (a standby's slot survives its promotion).
 */
final class SlotKeeper {

  /** A slot as the server reports it. {@code walStatus}: reserved, extended, unreserved (cap reached), lost. */
  record SlotState(Lsn restartLsn, String walStatus, Long safeWalSize, String maxSlotWalKeepSize, Integer activePid) {

    /** What the window should say about the server's cap, or null when the slot is within it. */
    String warning() {
      return switch (walStatus == null ? "" : walStatus) {
        case "unreserved" -> "max_slot_wal_keep_size (" + maxSlotWalKeepSize + ") reached: WAL not yet archived is at risk";
        case "lost" -> "max_slot_wal_keep_size (" + maxSlotWalKeepSize + ") exceeded: the server removed WAL not yet archived";
        default -> null;
      };
    }
  }

  private SlotKeeper() {}

  static Optional<SlotState> inspect(Connection sql, String slot) throws SQLException {
    try (PreparedStatement ps = sql.prepareStatement(
        "select restart_lsn::text, wal_status, safe_wal_size, current_setting('max_slot_wal_keep_size'), active_pid"
            + " from pg_replication_slots where slot_name = ? and slot_type = 'physical'")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        String restart = rs.getString(1);
        long safe = rs.getLong(3);
        Long safeWalSize = rs.wasNull() ? null : safe;
        int pid = rs.getInt(5);
        Integer activePid = rs.wasNull() ? null : pid;
        return Optional.of(new SlotState(restart == null ? null : Lsn.parse(restart), rs.getString(2), safeWalSize,
            rs.getString(4), activePid));
      }
    }
  }

  /** The slot, created now if missing; {@code created} tells the caller that it cannot cover anything older. */
  static SlotState ensure(Connection sql, String slot, boolean[] created) throws SQLException {
    Optional<SlotState> existing = inspect(sql, slot);
    if (existing.isPresent()) {
      return existing.get();
    }
    try (PreparedStatement ps = sql.prepareStatement("select pg_create_physical_replication_slot(?, true)")) {
      ps.setString(1, slot);
      ps.execute();
    } catch (SQLException e) {
      // created concurrently (another owner during a handover): the slot is there, which is all we need
      if (!"42710".equals(e.getSQLState())) {
        throw e;
      }
    }
    if (created != null && created.length > 0) {
      created[0] = true;
    }
    return inspect(sql, slot).orElseThrow(() -> new SQLException("slot " + slot + " vanished right after creation"));
  }

  /**
   * Moves an inactive slot forward to {@code position} (never back; on a standby the server caps it at what it
   * replayed). Returns the slot's {@code restart_lsn} after.
   */
  static Lsn advance(Connection sql, String slot, Lsn position) throws SQLException {
    SlotState state = ensure(sql, slot, null);
    if (state.restartLsn() != null && !state.restartLsn().isBefore(position)) {
      return state.restartLsn();
    }
    try (PreparedStatement ps = sql.prepareStatement("select end_lsn::text from pg_replication_slot_advance(?, ?::pg_lsn)")) {
      ps.setString(1, slot);
      ps.setString(2, position.toString());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return Lsn.parse(rs.getString(1));
      }
    }
  }

  /** Drops the slot, ending the walsender that holds it first (ours, possibly a stale owner's). */
  static boolean drop(Connection sql, String slot) throws SQLException {
    for (int attempt = 0; attempt < 50; attempt++) {
      Optional<SlotState> state = inspect(sql, slot);
      if (state.isEmpty()) {
        return false;
      }
      if (state.get().activePid() != null) {
        try (PreparedStatement ps = sql.prepareStatement("select pg_terminate_backend(?)")) {
          ps.setInt(1, state.get().activePid());
          ps.execute();
        }
      }
      try (PreparedStatement ps = sql.prepareStatement("select pg_drop_replication_slot(?)")) {
        ps.setString(1, slot);
        ps.execute();
        return true;
      } catch (SQLException e) {
        if (!"55006".equals(e.getSQLState())) { // object in use: the walsender is still exiting
          throw e;
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SQLException("interrupted while dropping " + slot);
      }
    }
    throw new SQLException("slot " + slot + " stayed in use");
  }
}
