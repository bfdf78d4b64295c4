package dev.backstop.gateway.backups;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.Sorts;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.BackupMissed;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * The days the scheduler's watchdog reported without a backup ({@code BackupMissed}), per addon. One
 * document per report id, so a redelivered or replayed report changes nothing.
 */
@Component
public class MissedBackups {

  /** A reported day. */
  public record Missed(@BsonId String missedId, String addonId, String localDate, String finding, String backupId,
      String detail, Instant scheduledAt, Instant detectedAt) {}

  private final MongoCollection<Missed> missed;

  public MissedBackups(MongoDatabase database) {
    this.missed = StoredRecords.collection(database, "missed-backups", Missed.class);
    missed.createIndex(Indexes.ascending("addonId", "localDate"));
  }

  public void record(BackupMissed e) {
    missed.replaceOne(eq("_id", e.getMissedId()), new Missed(e.getMissedId(), e.getAddonId(), e.getLocalDate(),
        e.getFinding().name(), e.getBackupId(), e.getDetail(), e.getScheduledAt(), e.getDetectedAt()),
        new ReplaceOptions().upsert(true));
  }

  /** The addon's latest {@code limit} reported days, most recent first. */
  public List<Missed> ofAddon(String addonId, int limit) {
    List<Missed> found = new ArrayList<>();
    missed.find(eq("addonId", addonId)).sort(Sorts.descending("localDate")).limit(limit).into(found);
    return found;
  }
}
