package dev.backstop.scheduler.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lte;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.catalog.RevisionGuard;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.scheduler.missed.MissedBackupRule.DayRecord;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bson.Document;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * The watchdog's state, all rebuilt from the topics: per addon the next local day to judge and when
 * ({@code missed-watch}, from {@code backstop.addons}, plus the addon's latest successful backup), per
 * scheduled backup what happened to it ({@code scheduled-backups}, from the requests and backup
 * events), and the days already reported ({@code missed-backups}, from the {@code BackupMissed} events
 * read back from the topic).
 *
 * <p>Every write is idempotent and independent of the order the topics are read in: times are kept
 * with {@code $min}/{@code $max}, reports inserted once, and the schedule part guarded by the addon's
 * revision. An addon's last success is a document of its own ({@code last-success}), written only by the
 * backup events' consumer: kept in the watch, it raced the addon events' writes to the same document.
 */
@Component
public class MissedBackupCatalog {

  private static final UpdateOptions UPSERT = new UpdateOptions().upsert(true);

  private final MongoCollection<Document> watches;
  private final MongoCollection<StoredWatch> watchRecords;
  private final MongoCollection<Document> days;
  private final MongoCollection<StoredDay> dayRecords;
  private final MongoCollection<Document> missed;
  private final MongoCollection<Document> lastSuccess;

  public MissedBackupCatalog(MongoDatabase database) {
    this.watches = database.getCollection("missed-watch");
    this.watchRecords = StoredRecords.collection(database, "missed-watch", StoredWatch.class);
    this.days = database.getCollection("scheduled-backups");
    this.dayRecords = StoredRecords.collection(database, "scheduled-backups", StoredDay.class);
    this.missed = database.getCollection("missed-backups");
    this.lastSuccess = database.getCollection("last-success");
    watches.createIndex(Indexes.ascending("checkAt"));
  }

  /** An addon's watch: the local day judged next and when; {@code checkAt} null: nothing to judge. */
  public record StoredWatch(@BsonId String addonId, String appName, BackupTime at, LocalDate day, Instant checkAt,
      Instant lastSucceededAt, Long revision) {}

  /** What happened to one scheduled backup. */
  public record StoredDay(@BsonId String backupId, String addonId, Instant requestedAt, Instant startedAt,
      Instant failedAt, Instant completedAt, String failure) {

    public DayRecord toRecord() {
      return new DayRecord(requestedAt, startedAt, failedAt, completedAt, failure);
    }
  }

  /** A day reported missed. */
  public record StoredMissed(@BsonId String missedId, String addonId, String localDate, String finding, Instant detectedAt) {}

  /**
   * The addon at {@code revision} watches {@code day} from {@code checkAt} on (both null: no scheduled
   * backups); an older or repeated revision changes nothing.
   */
  public boolean watch(String addonId, long revision, String appName, BackupTime at, LocalDate day, Instant checkAt) {
    return RevisionGuard.applyIfNewer(watches, addonId, revision, Updates.combine(
        Updates.set("appName", appName),
        Updates.set("at", at == null ? null : StoredRecords.toBson(at)),
        Updates.set("day", day),
        Updates.set("checkAt", checkAt == null ? null : Date.from(checkAt))));
  }

  /** Watches whose day is due to be judged at {@code now}, earliest first. */
  public List<StoredWatch> due(Instant now, int limit) {
    List<StoredWatch> due = new ArrayList<>();
    watchRecords.find(lte("checkAt", Date.from(now))).sort(Sorts.ascending("checkAt")).limit(limit).into(due);
    return due.stream().map(w -> {
      Document last = lastSuccess.find(eq("_id", w.addonId())).first();
      Instant at = last == null || last.getDate("at") == null ? null : last.getDate("at").toInstant();
      return new StoredWatch(w.addonId(), w.appName(), w.at(), w.day(), w.checkAt(), at, w.revision());
    }).toList();
  }

  /**
   * Moves a judged watch on to {@code day} at {@code checkAt}, unless an addon event moved it meanwhile
   * (then the addon's new schedule stands).
   */
  public boolean moveOn(StoredWatch watch, LocalDate day, Instant checkAt) {
    return watches.updateOne(ById.filter(watch.addonId(), eq("checkAt", Date.from(watch.checkAt()))), Updates.combine(
        Updates.set("day", day), Updates.set("checkAt", Date.from(checkAt)))).getModifiedCount() > 0;
  }

  /** A backup of the addon, of any kind customers download, completed at {@code at}. */
  public void succeeded(String addonId, Instant at) {
    lastSuccess.updateOne(eq("_id", addonId), Updates.max("at", Date.from(at)), UPSERT);
  }

  /** Scheduled backup {@code backupId} was requested at {@code at}. */
  public void requested(String backupId, String addonId, Instant at) {
    days.updateOne(eq("_id", backupId), Updates.combine(Updates.set("addonId", addonId), Updates.min("requestedAt", Date.from(at))), UPSERT);
  }

  /** Scheduled backup {@code backupId} (an attempt of it) started at {@code at}. */
  public void started(String backupId, String addonId, Instant at) {
    days.updateOne(eq("_id", backupId), Updates.combine(Updates.set("addonId", addonId), Updates.max("startedAt", Date.from(at))), UPSERT);
  }

  /** Scheduled backup {@code backupId} failed at {@code at} because of {@code reason}. */
  public void failed(String backupId, String addonId, Instant at, String reason) {
    days.updateOne(eq("_id", backupId), Updates.combine(Updates.set("addonId", addonId), Updates.max("failedAt", Date.from(at)),
        Updates.set("failure", reason)), UPSERT);
  }

  /** Scheduled backup {@code backupId} completed at {@code at}. */
  public void completed(String backupId, String addonId, Instant at) {
    days.updateOne(eq("_id", backupId), Updates.combine(Updates.set("addonId", addonId), Updates.max("completedAt", Date.from(at))), UPSERT);
  }

  /** What happened to scheduled backup {@code backupId}; {@link DayRecord#NOTHING} if no event named it. */
  public DayRecord day(String backupId) {
    StoredDay day = dayRecords.find(eq("_id", backupId)).first();
    return day == null ? DayRecord.NOTHING : day.toRecord();
  }

  /** Records a reported day; a second report of the same {@code missedId} changes nothing. */
  public void reported(StoredMissed report) {
    missed.updateOne(eq("_id", report.missedId()), Updates.combine(
        Updates.setOnInsert("addonId", report.addonId()),
        Updates.setOnInsert("localDate", report.localDate()),
        Updates.setOnInsert("finding", report.finding()),
        Updates.setOnInsert("detectedAt", Date.from(report.detectedAt()))), UPSERT);
  }

  /** Whether day {@code missedId} was already reported (by this instance, another, or before a replay). */
  public boolean wasReported(String missedId) {
    return missed.countDocuments(eq("_id", missedId)) > 0;
  }
}
