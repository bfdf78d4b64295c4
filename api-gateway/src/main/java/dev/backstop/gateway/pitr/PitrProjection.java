package dev.backstop.gateway.pitr;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.WalArchived;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.bson.Document;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * The gateway's view of point-in-time recovery, built from the topics: each addon's newest
 * {@code PitrWindowChanged} (collection {@code pitr_windows}; an older or repeated event, by {@code at},
 * changes nothing) and its base backups as the backup events tell them (collection {@code pitr_bases},
 * each only moving forward: running, then done or failed, then pruned). Replaying either topic from
 * offset 0 leaves the same state.
 */
@Component
public class PitrProjection {

  /** A window as its last event stated it; {@code revision} is that event's {@code at} in milliseconds. */
  public record StoredWindow(@BsonId String addonId, String state, Instant earliest, Instant latest, String reason,
      Instant brokenSince, String slotWarning, Long systemId, List<WindowBase> bases, Instant at, Long revision) {}

  /** A base backup the window counts as usable. */
  public record WindowBase(String backupId, Instant endTime, Integer timeline, Long startLsn, Long stopLsn) {}

  /** A base backup as its events told it; fields an event did not state are null. */
  public record StoredBase(@BsonId String id, String addonId, String status, Integer rank, Instant requestedAt,
      Instant startedAt, Instant completedAt, String node, String nodeReason, String archiveKey, Long sizeBytes,
      Integer timeline, Long startLsn, Long stopLsn, Integer serverVersionNum, Long systemId, Instant endTime,
      String reason) {}

  private final MongoCollection<Document> windowDocuments;
  private final MongoCollection<StoredWindow> windows;
  private final MongoCollection<Document> baseDocuments;
  private final MongoCollection<Document> latestDocuments;
  private final MongoCollection<StoredBase> bases;

  public PitrProjection(MongoDatabase database) {
    this.windowDocuments = database.getCollection("pitr_windows");
    this.windows = StoredRecords.collection(database, "pitr_windows", StoredWindow.class);
    this.baseDocuments = database.getCollection("pitr_bases");
    this.latestDocuments = database.getCollection("pitr_latest");
    this.bases = StoredRecords.collection(database, "pitr_bases", StoredBase.class);
    baseDocuments.createIndex(Indexes.ascending("addonId"));
  }

  /** Keeps the event if it is newer than the stored window; true if it was. */
  public boolean window(PitrWindowChanged e) {
    List<WindowBase> refs = e.getBases().stream()
        .map(b -> new WindowBase(b.getBackupId(), b.getEndTime(), b.getTimeline(), b.getStartLsn(), b.getStopLsn()))
        .toList();
    StoredWindow window = new StoredWindow(e.getAddonId(), e.getState().name(), e.getEarliest(), e.getLatest(), e.getReason(),
        e.getBrokenSince(), e.getSlotWarning(), e.getSystemId(), refs, e.getAt(), e.getAt().toEpochMilli());
    return RevisionGuard.applyIfNewer(windowDocuments, e.getAddonId(), e.getAt().toEpochMilli(),
        StoredRecords.setAll(window, "", "_id", "revision"));
  }

  /**
   * The addon's window, its {@code latest} the newer of the window event's and the archiver's last
   * report: {@code latest} moves every few seconds in {@code WalArchived} on {@code backstop.pitr-progress},
   * never in a window event of its own.
   */
  public Optional<StoredWindow> window(String addonId) {
    StoredWindow w = windows.find(eq("_id", addonId)).first();
    if (w == null) {
      return Optional.empty();
    }
    Document archived = latestDocuments.find(eq("_id", addonId)).first();
    Instant reported = archived == null || archived.getDate("latest") == null ? null : archived.getDate("latest").toInstant();
    if (reported == null || (w.latest() != null && !reported.isAfter(w.latest())) || "UNAVAILABLE".equals(w.state())) {
      return Optional.of(w);
    }
    return Optional.of(new StoredWindow(w.addonId(), w.state(), w.earliest(), reported, w.reason(), w.brokenSince(),
        w.slotWarning(), w.systemId(), w.bases(), w.at(), w.revision()));
  }

  /** The archiver's newest restorable instant for the addon; an older or repeated report changes nothing. */
  public void archived(WalArchived e) {
    if (e.getLatest() != null) {
      latestDocuments.updateOne(eq("_id", e.getAddonId()), Updates.max("latest", java.util.Date.from(e.getLatest())),
          new UpdateOptions().upsert(true));
    }
  }

  public void started(BackupStarted e) {
    advance(e.getBackupId(), 1, new Document("addonId", e.getAddonId()).append("status", "running")
        .append("requestedAt", e.getRequestedAt()).append("startedAt", e.getStartedAt()).append("node", e.getNode())
        .append("nodeReason", e.getNodeReason()), true);
  }

  public void completed(BackupCompleted e) {
    Document fields = new Document("addonId", e.getAddonId()).append("status", "done")
        .append("requestedAt", e.getRequestedAt()).append("startedAt", e.getStartedAt()).append("completedAt", e.getCompletedAt())
        .append("node", e.getNode()).append("nodeReason", e.getNodeReason()).append("archiveKey", e.getArchiveKey())
        .append("sizeBytes", e.getSizeBytes());
    var info = e.getPitrBase();
    if (info != null) {
      fields.append("timeline", info.getTimeline()).append("startLsn", info.getStartLsn()).append("stopLsn", info.getStopLsn())
          .append("serverVersionNum", info.getServerVersionNum()).append("systemId", info.getSystemId())
          .append("endTime", info.getEndTime());
    }
    advance(e.getBackupId(), 2, fields, true);
  }

  public void failed(BackupFailed e) {
    advance(e.getBackupId(), 2, new Document("addonId", e.getAddonId()).append("status", "failed")
        .append("requestedAt", e.getRequestedAt()).append("completedAt", e.getFailedAt()).append("node", e.getNode())
        .append("reason", e.getReason()), true);
  }

  /**
   * Marks a known base pruned; false (nothing written) when {@code e} is not about a base this
   * projection knows: then it is an ordinary backup's. A base's completion always precedes its prune
   * on the addon's partition.
   */
  public boolean pruned(BackupPruned e) {
    if (baseDocuments.find(eq("_id", e.getBackupId())).first() == null) {
      return false;
    }
    advance(e.getBackupId(), 3, new Document("status", "pruned").append("reason", e.getReason()), false);
    return true;
  }

  /** The addon's base backups known to the gateway (pruned ones left out), newest first. */
  public List<StoredBase> bases(String addonId) {
    List<StoredBase> found = new ArrayList<>();
    bases.find(eq("addonId", addonId)).forEach(b -> {
      if (!"pruned".equals(b.status())) {
        found.add(b);
      }
    });
    found.sort(Comparator.comparing(StoredBase::requestedAt, Comparator.nullsLast(Comparator.reverseOrder())));
    return found;
  }

  private void advance(String id, int rank, Document fields, boolean upsert) {
    List<org.bson.conversions.Bson> updates = new ArrayList<>();
    updates.add(Updates.set("rank", rank));
    fields.forEach((k, v) -> {
      if (v != null) {
        updates.add(Updates.set(k, v instanceof Instant i ? java.util.Date.from(i) : v));
      }
    });
    try {
      baseDocuments.updateOne(ById.filter(id, lt("rank", rank)), Updates.combine(updates), new UpdateOptions().upsert(upsert));
    } catch (MongoWriteException ex) {
      if (ex.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw ex;
      }
      // already at this stage or further: a repeat or a late event
    }
  }
}
