package dev.backstop.worker.pitr;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.PitrBaseRef;
import dev.backstop.schemas.events.PitrWindowChanged;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * This worker's view of each addon's recoverable window (collection {@code pitr_windows}), from
 * {@code PitrWindowChanged} on {@code backstop.pitr-events}: the restore plans from it. Only the window
 * says which bases are <em>usable</em> (their WAL archived up to their stop position), which wal-archiver
 * alone knows; the worker's own ledger knows which bases were taken, not that. The newest event per addon
 * wins ({@code at}); replaying the topic from the start gives the same state.
 */
public class PitrWindows {

  /** A usable base as the window lists it. */
  public record Base(String backupId, Instant endTime, int timeline, long startLsn, long stopLsn) {}

  /** An addon's window as last published. */
  public record Window(@BsonId String addonId, String state, Instant earliest, Instant latest, String reason,
      Long systemId, List<Base> bases, Instant at) {

    /** The base a restore to {@code target} starts from: the newest usable base that ended at or before it. */
    public Optional<Base> baseFor(Instant target) {
      return bases == null ? Optional.empty() : bases.stream().filter(b -> !b.endTime().isAfter(target))
          .max(Comparator.comparing(Base::endTime));
    }

    /**
     * Why {@code target} cannot be restored from this window, or null when it can. The latest restorable
     * instant is not checked here: it moves every few seconds in {@code WalArchived} (progress, not in the
     * window's events), and the gateway checked the request against it. A target past what the archive
     * holds still restores every commit archived, by the restart without a target.
     */
    public String refusal(Instant target) {
      if (earliest == null) {
        return "point-in-time recovery has no restorable range yet (" + state.toLowerCase() + (reason == null ? "" : ": " + reason) + ")";
      }
      String range = "the restorable range starts at " + earliest;
      if (target.isBefore(earliest)) {
        return target + " is before the earliest restorable instant: " + range;
      }
      if (baseFor(target).isEmpty()) {
        return "no base backup ends at or before " + target + ": " + range;
      }
      return null;
    }
  }

  private final MongoCollection<Window> windows;

  public PitrWindows(MongoDatabase database) {
    this.windows = StoredRecords.collection(database, "pitr_windows", Window.class);
  }

  /** Applies one event; an event older than the stored one changes nothing. */
  public void apply(PitrWindowChanged event) {
    Window window = new Window(event.getAddonId(), event.getState().name(), event.getEarliest(), event.getLatest(),
        event.getReason(), event.getSystemId(), event.getBases().stream().map(PitrWindows::base).toList(), event.getAt());
    Window current = windows.find(Filters.eq("_id", event.getAddonId())).first();
    if (current != null && current.at() != null && current.at().isAfter(event.getAt())) {
      return;
    }
    windows.replaceOne(Filters.eq("_id", event.getAddonId()), window, new ReplaceOptions().upsert(true));
  }

  public Optional<Window> find(String addonId) {
    return Optional.ofNullable(windows.find(Filters.eq("_id", addonId)).first());
  }

  private static Base base(PitrBaseRef ref) {
    return new Base(ref.getBackupId(), ref.getEndTime(), ref.getTimeline(), ref.getStartLsn(), ref.getStopLsn());
  }
}
