package dev.backstop.walarchiver;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.pitr.BaseRef;
import dev.backstop.pitr.Lsn;
import dev.backstop.pitr.WindowCalculator;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.PitrBaseInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * The base backups ({@code PITR_BASE}) this service has heard of, from {@code backstop.backup-events}
 * ({@code pitr_bases}): added by their {@code BackupCompleted}, marked pruned by their {@code BackupPruned}.
 * Replaying the topic gives the same documents: a completion never clears a pruning.
 */
public final class PitrBases {

  /**
   * A base as stored; {@code pruned} is null until retention lets it go. Reference types throughout: a
   * pruning read before its completion (never on one partition, but cheap to allow) leaves the rest absent.
   */
  public record StoredBase(@BsonId String backupId, String addonId, Instant endTime, Integer timeline, Long startLsn,
      Long stopLsn, Long systemId, Integer serverVersionNum, Boolean pruned, Instant prunedAt) {

    boolean kept() {
      return !Boolean.TRUE.equals(pruned) && startLsn != null;
    }

    WindowCalculator.Base toWindowBase() {
      return new WindowCalculator.Base(ref(), systemId);
    }

    BaseRef ref() {
      return new BaseRef(backupId, endTime, timeline, new Lsn(startLsn), new Lsn(stopLsn));
    }
  }

  private final MongoCollection<StoredBase> bases;

  PitrBases(MongoDatabase database) {
    this.bases = StoredRecords.collection(database, "pitr_bases", StoredBase.class);
    bases.createIndex(Indexes.ascending("addonId"));
  }

  /** Records a completed base; false when the event is not one (another kind, or no {@code pitrBase}). */
  boolean completed(BackupCompleted event) {
    PitrBaseInfo info = event.getPitrBase();
    if (event.getKind() != BackupKind.PITR_BASE || info == null) {
      return false;
    }
    StoredBase base = new StoredBase(event.getBackupId(), event.getAddonId(), info.getEndTime(), info.getTimeline(),
        info.getStartLsn(), info.getStopLsn(), info.getSystemId(), info.getServerVersionNum(), null, null);
    bases.updateOne(Filters.eq("_id", base.backupId()), StoredRecords.setAll(base, "", "_id", "pruned", "prunedAt"),
        new UpdateOptions().upsert(true));
    return true;
  }

  /** Marks a base pruned; empty when the pruned backup is not a base this service knows. */
  Optional<StoredBase> pruned(BackupPruned event) {
    return Optional.ofNullable(bases.findOneAndUpdate(Filters.eq("_id", event.getBackupId()),
        Updates.combine(Updates.set("pruned", true), Updates.set("prunedAt", event.getPrunedAt())),
        new FindOneAndUpdateOptions()));
  }

  /** The addon's bases not pruned, in no particular order. */
  List<StoredBase> kept(String addonId) {
    List<StoredBase> kept = new ArrayList<>();
    for (StoredBase b : bases.find(Filters.eq("addonId", addonId))) {
      if (b.kept()) {
        kept.add(b);
      }
    }
    return kept;
  }
}
