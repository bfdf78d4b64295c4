package dev.backstop.retention.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.BulkWriteOptions;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.WriteModel;
import dev.backstop.retention.config.RetentionProperties;
import dev.backstop.retention.policy.ScheduledDates;
import dev.backstop.retention.policy.StoredBackup;
import dev.backstop.schemas.events.BackupKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import jakarta.annotation.PreDestroy;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Retention's record of every backup, one MongoDB document per addon ({@code retention}), held in
 * memory for the addons this instance reads events of and written behind: changes gather in memory
 * and go to MongoDB in one bulk write per flush, each changed addon's document in one replace.
 *
 * <p>Why write behind: a replay reads every outcome ever (millions), and one update per event costs
 * a round trip and a rewrite of the addon's document each. Flushing coalesces them. Nothing is lost
 * by a crash: the events consumer acknowledges a record to Kafka only once a flush has stored its
 * effect ({@link #afterNextFlush}), so what was not flushed is read again, and every change here is
 * idempotent.
 *
 * <p>One writer per addon: only the instance that owns the addon's partition of the events topic
 * changes its record (the evaluations of other instances skip it), so a flush never overwrites
 * another instance's change with a stale copy.
 */
@Component
public class RetentionLedger {

  /** A live backup record with where its archive is. */
  public record Record(StoredBackup backup, String appName, String archiveKey) {}

  /** An archive waiting for its grace period to end. */
  public record Purge(String backupId, String addonId, String archiveKey) {}

  private static final Logger log = LoggerFactory.getLogger(RetentionLedger.class);
  /** No new record for this long: reading has caught up, what waits is written now. */
  private static final long IDLE_NANOS = 200_000_000L;

  private final MongoCollection<Document> addons;
  private final RetentionProperties properties;
  // access order: the least recently used clean addons are dropped past the configured bound
  private final LinkedHashMap<String, Addon> cache = new LinkedHashMap<>(1024, 0.75f, true);
  private final Set<String> dirty = new LinkedHashSet<>();
  private final List<Runnable> acknowledgements = new ArrayList<>();
  private long changesSinceFlush;
  private long lastFlushEnded = System.nanoTime();
  private long lastFlushTook;
  private long lastChange = System.nanoTime();

  public RetentionLedger(MongoDatabase database, RetentionProperties properties) {
    this.addons = database.getCollection("retention");
    this.properties = properties;
  }

  /**
   * Records a backup's outcome. Never revives a pruned record (the pruned flag is not touched), so a
   * replay of old completions leaves deleted backups deleted.
   */
  public synchronized void recordOutcome(String backupId, String addonId, String appName, BackupKind kind, boolean succeeded,
      Instant takenAt, String archiveKey) {
    recordOutcome(backupId, addonId, appName, kind, succeeded, takenAt, archiveKey, null);
  }

  /** As above, with the end time of a point-in-time base backup (its place in the 7-day window); null for others. */
  public synchronized void recordOutcome(String backupId, String addonId, String appName, BackupKind kind, boolean succeeded,
      Instant takenAt, String archiveKey, Instant pitrEndTime) {
    Entry entry = addon(addonId).entry(backupId);
    Entry before = entry.copy();
    entry.app = appName;
    entry.kind = kind;
    entry.ok = succeeded;
    entry.takenAt = takenAt;
    entry.key = archiveKey;
    entry.pitrEnd = pitrEndTime;
    changed(addonId, before, entry);
  }

  /**
   * Marks a backup pruned (it leaves the listing at once) with its archive to be deleted after
   * {@code purgeAfter}; idempotent, and a repeat keeps the earliest times.
   */
  public synchronized void markPruned(String backupId, String addonId, String reason, Instant prunedAt, Instant purgeAfter) {
    Entry entry = addon(addonId).entry(backupId);
    Entry before = entry.copy();
    if (!entry.pruned) {
      entry.reason = reason;
    }
    entry.pruned = true;
    entry.prunedAt = earliest(entry.prunedAt, prunedAt);
    entry.purgeAfter = earliest(entry.purgeAfter, purgeAfter);
    changed(addonId, before, entry);
  }

  public synchronized void markPurged(String addonId, String backupId, Instant at) {
    Entry entry = addon(addonId).entry(backupId);
    Entry before = entry.copy();
    entry.purgedAt = earliest(entry.purgedAt, at);
    changed(addonId, before, entry);
  }

  public synchronized List<Record> liveBackups(String addonId) {
    List<Record> records = new ArrayList<>();
    for (Entry b : addon(addonId).backups.values()) {
      if (!b.pruned && b.kind != null) {
        records.add(new Record(b.stored(addonId), b.app, b.key));
      }
    }
    return records;
  }

  /**
   * The addon's backups already pruned, as the policy counts them (a weekly copy is 7 days after the
   * previous one, deleted or not; the 11th newest manual backup stays the 11th).
   */
  public synchronized List<StoredBackup> prunedBackups(String addonId) {
    List<StoredBackup> pruned = new ArrayList<>();
    for (Entry b : addon(addonId).backups.values()) {
      if (b.pruned && b.kind != null && b.ok != null && b.takenAt != null) {
        pruned.add(b.stored(addonId));
      }
    }
    return pruned;
  }

  /** The addon's pruned backups whose grace period is over and whose archive is still to be deleted. */
  public synchronized List<Purge> duePurges(String addonId, Instant now) {
    List<Purge> due = new ArrayList<>();
    for (Entry b : addon(addonId).backups.values()) {
      if (b.purgeAfter != null && !b.purgeAfter.isAfter(now) && b.purgedAt == null) {
        due.add(new Purge(b.id, addonId, b.key));
      }
    }
    return due;
  }

  /** Every addon with backup records, stored or not yet flushed. */
  public synchronized Set<String> addonIds() {
    Set<String> ids = new TreeSet<>(dirty);
    addons.find().projection(Projections.include("_id")).forEach(d -> ids.add(d.getString("_id")));
    return ids;
  }

  /** Runs {@code acknowledge} once everything recorded so far is stored. */
  public synchronized void afterNextFlush(Runnable acknowledge) {
    acknowledgements.add(acknowledge);
    lastChange = System.nanoTime();
  }

  /**
   * Whether a flush is due: too many changes wait; or, unless a replay is being caught up with (the
   * deferred evaluations then end with a flush of everything), something waits and either nothing more came
   * for a moment (the consumer caught up) or the last flush is long enough ago: at least the
   * configured interval and four times what the last flush took, so that during a replay, when every
   * flush rewrites thousands of addons, flushing takes at most a fifth of the time.
   */
  public synchronized boolean flushDue(boolean catchingUp) {
    if (changesSinceFlush >= properties.flushChanges()) {
      return true;
    }
    if (catchingUp || acknowledgements.isEmpty() && dirty.isEmpty()) {
      return false;
    }
    long now = System.nanoTime();
    return now - lastChange >= IDLE_NANOS
        || now - lastFlushEnded >= Math.max(properties.flushInterval().toNanos(), 4 * lastFlushTook);
  }

  /**
   * Stores every changed addon in one bulk write, then runs the acknowledgements waiting for it.
   * Each changed addon's document is replaced whole from memory: this instance is its only writer,
   * and one replace costs a store less than many field updates.
   */
  public synchronized void flush() {
    long started = System.nanoTime();
    if (!dirty.isEmpty()) {
      List<WriteModel<Document>> writes = new ArrayList<>(dirty.size());
      for (String addonId : dirty) {
        Document backups = new Document();
        cache.get(addonId).backups.forEach((id, entry) -> backups.append(key(id), entry.toDocument()));
        writes.add(new ReplaceOneModel<>(eq("_id", addonId), new Document("_id", addonId).append("backups", backups),
            new ReplaceOptions().upsert(true)));
      }
      for (int from = 0; from < writes.size(); from += 500) {
        addons.bulkWrite(writes.subList(from, Math.min(writes.size(), from + 500)), new BulkWriteOptions().ordered(false));
      }
      dirty.clear();
    }
    changesSinceFlush = 0;
    for (Runnable acknowledge : acknowledgements) {
      try {
        acknowledge.run();
      } catch (RuntimeException e) {
        // the consumer stopped or lost the partition: the record is read again, and re-applying it changes nothing
        log.debug("acknowledgement not delivered: {}", e.toString());
      }
    }
    acknowledgements.clear();
    evictClean();
    lastFlushEnded = System.nanoTime();
    lastFlushTook = lastFlushEnded - started;
  }

  /** Writes what is pending when the service stops. */
  @PreDestroy
  public void close() {
    flush();
  }

  /**
   * Forgets the cached copies once this instance stops owning partitions: another instance may
   * change those addons now, and a later owner reloads them from the store. Flushes first.
   */
  public synchronized void forgetCached() {
    flush();
    cache.clear();
  }

  /** Loads the records of many addons in one query, ahead of evaluating them. */
  public synchronized void preload(Collection<String> addonIds) {
    List<String> missing = addonIds.stream().filter(id -> !cache.containsKey(id)).toList();
    for (int from = 0; from < missing.size(); from += 500) {
      List<String> chunk = missing.subList(from, Math.min(missing.size(), from + 500));
      Map<String, Addon> loaded = new HashMap<>();
      addons.find(in("_id", chunk)).forEach(d -> loaded.put(d.getString("_id"), Addon.of(d)));
      for (String id : chunk) {
        cache.put(id, loaded.getOrDefault(id, new Addon()));
      }
    }
  }

  private Addon addon(String addonId) {
    Addon addon = cache.get(addonId);
    if (addon == null) {
      addon = Addon.of(addons.find(eq("_id", addonId)).first());
      cache.put(addonId, addon);
    }
    return addon;
  }

  private void changed(String addonId, Entry before, Entry after) {
    if (!before.equals(after)) {
      dirty.add(addonId);
      changesSinceFlush++;
    }
  }

  private void evictClean() {
    int excess = cache.size() - properties.cachedAddons();
    for (var it = cache.entrySet().iterator(); excess > 0 && it.hasNext(); ) {
      if (!dirty.contains(it.next().getKey())) {
        it.remove();
        excess--;
      }
    }
  }

  private static Instant earliest(Instant current, Instant candidate) {
    return current == null || candidate.isBefore(current) ? candidate : current;
  }

  /** The backup's key inside its addon's {@code backups}; ids never hold '.' or '$' but are escaped anyway. */
  private static String key(String backupId) {
    return backupId.replace("%", "%25").replace(".", "%2E").replace("$", "%24");
  }

  /** One addon's records. */
  private static final class Addon {
    final Map<String, Entry> backups = new LinkedHashMap<>();

    static Addon of(Document stored) {
      Addon addon = new Addon();
      if (stored != null && stored.get("backups") instanceof Document backups) {
        for (Object value : backups.values()) {
          Entry entry = Entry.of((Document) value);
          addon.backups.put(entry.id, entry);
        }
      }
      return addon;
    }

    Entry entry(String backupId) {
      return backups.computeIfAbsent(backupId, Entry::new);
    }
  }

  /** A backup as retention knows it: its outcome (from the events) and what retention did with it. */
  private static final class Entry {
    final String id;
    String app;
    BackupKind kind;
    Boolean ok;
    Instant takenAt;
    String key;
    /** A point-in-time base's end time. */
    Instant pitrEnd;
    boolean pruned;
    String reason;
    Instant prunedAt;
    Instant purgeAfter;
    Instant purgedAt;
    // derived from the id, kind and time (not stored): the local date a scheduled backup stands for
    private StoredBackup stored;

    Entry(String id) {
      this.id = id;
    }

    static Entry of(Document d) {
      Entry e = new Entry(d.getString("id"));
      e.app = d.getString("app");
      e.kind = d.getString("kind") == null ? null : BackupKind.valueOf(d.getString("kind"));
      e.ok = d.getBoolean("ok");
      e.takenAt = instant(d.getDate("takenAt"));
      e.key = d.getString("key");
      e.pitrEnd = instant(d.getDate("pitrEnd"));
      e.pruned = d.getBoolean("pruned", false);
      e.reason = d.getString("reason");
      e.prunedAt = instant(d.getDate("prunedAt"));
      e.purgeAfter = instant(d.getDate("purgeAfter"));
      e.purgedAt = instant(d.getDate("purgedAt"));
      return e;
    }

    /** The backup as the policy sees it; a scheduled backup's date read back from its id once. */
    StoredBackup stored(String addonId) {
      if (stored == null || stored.kind() != kind || stored.succeeded() != ok || !stored.takenAt().equals(takenAt)
          || !Objects.equals(stored.pitrEndTime(), pitrEnd)) {
        stored = new StoredBackup(id, kind, ok, takenAt, ScheduledDates.derive(addonId, id, kind, takenAt), pitrEnd);
      }
      return stored;
    }

    Entry copy() {
      Entry e = new Entry(id);
      e.app = app;
      e.kind = kind;
      e.ok = ok;
      e.takenAt = takenAt;
      e.key = key;
      e.pitrEnd = pitrEnd;
      e.pruned = pruned;
      e.reason = reason;
      e.prunedAt = prunedAt;
      e.purgeAfter = purgeAfter;
      e.purgedAt = purgedAt;
      return e;
    }

    Document toDocument() {
      Document d = new Document("id", id);
      put(d, "app", app);
      put(d, "kind", kind == null ? null : kind.name());
      put(d, "ok", ok);
      put(d, "takenAt", takenAt == null ? null : Date.from(takenAt));
      put(d, "key", key);
      put(d, "pitrEnd", pitrEnd == null ? null : Date.from(pitrEnd));
      if (pruned) {
        d.append("pruned", true);
      }
      put(d, "reason", reason);
      put(d, "prunedAt", prunedAt == null ? null : Date.from(prunedAt));
      put(d, "purgeAfter", purgeAfter == null ? null : Date.from(purgeAfter));
      put(d, "purgedAt", purgedAt == null ? null : Date.from(purgedAt));
      return d;
    }

    private static void put(Document d, String name, Object value) {
      if (value != null) {
        d.append(name, value);
      }
    }

    private static Instant instant(Date date) {
      return date == null ? null : date.toInstant();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e && id.equals(e.id) && Objects.equals(app, e.app) && kind == e.kind && Objects.equals(ok, e.ok)
          && Objects.equals(takenAt, e.takenAt) && Objects.equals(key, e.key) && Objects.equals(pitrEnd, e.pitrEnd) && pruned == e.pruned && Objects.equals(reason, e.reason)
          && Objects.equals(prunedAt, e.prunedAt) && Objects.equals(purgeAfter, e.purgeAfter) && Objects.equals(purgedAt, e.purgedAt);
    }

    @Override
    public int hashCode() {
      return id.hashCode();
    }
  }
}
