package dev.backstop.walarchiver;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.MongoCommandException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.store.StoredRecords;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.OptionalLong;
import org.bson.Document;

/**
 * Who streams which addon: one lease per addon in {@code wal_streams}, taken only when free or lapsed,
 * each taking raising the addon's {@code epoch}. Every later write names (owner, epoch): a stale owner's
 * renewal or state write matches nothing, and it must stop at once (design §2, fencing).
 */
final class StreamLeases {

  private final MongoCollection<Document> streams;

  StreamLeases(MongoDatabase database) {
    this.streams = database.getCollection("wal_streams");
  }

  /** Takes the addon's lease for {@code owner} if nobody holds it (or it lapsed); the new epoch, or empty. */
  OptionalLong claim(String addonId, String owner, Instant now, Duration lease) {
    try {
      Document taken = streams.findOneAndUpdate(
          Filters.and(Filters.eq("_id", addonId), Filters.or(Filters.lt("leaseUntil", Date.from(now)),
              Filters.exists("leaseUntil", false))),
          Updates.combine(Updates.set("owner", owner), Updates.set("leaseUntil", Date.from(now.plus(lease))),
              Updates.inc("epoch", 1L)),
          new FindOneAndUpdateOptions().upsert(true).returnDocument(ReturnDocument.AFTER));
      return taken == null ? OptionalLong.empty() : OptionalLong.of(taken.get("epoch", Number.class).longValue());
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() == ErrorCategory.DUPLICATE_KEY) {
        return OptionalLong.empty(); // held by someone else: the upsert's insert collided with their document
      }
      throw e;
    } catch (MongoCommandException e) {
      if (e.getErrorCode() == 11000) {
        return OptionalLong.empty();
      }
      throw e;
    }
  }

  /** Extends the lease; false when another owner took it since (the caller then stops streaming at once). */
  boolean renew(String addonId, String owner, long epoch, Instant now, Duration lease) {
    return streams.updateOne(fenced(addonId, owner, epoch), Updates.set("leaseUntil", Date.from(now.plus(lease))))
        .getMatchedCount() == 1;
  }

  /** Records the stream's progress, fenced like a renewal. */
  boolean record(String addonId, String owner, long epoch, int timeline, String durableLsn, String node, Instant at) {
    return streams.updateOne(fenced(addonId, owner, epoch), Updates.combine(Updates.set("timeline", timeline),
        Updates.set("durableLsn", durableLsn), Updates.set("node", node), Updates.set("lastChunkAt", Date.from(at))))
        .getMatchedCount() == 1;
  }

  /** Saves what the owner knows of the addon's archive, fenced like a renewal. */
  boolean saveFacts(String addonId, String owner, long epoch, StreamFacts facts) {
    return streams.updateOne(fenced(addonId, owner, epoch), Updates.set("facts", StoredRecords.toBson(facts)))
        .getMatchedCount() == 1;
  }

  /** Forgets the archive's facts (the addon left point-in-time recovery: a return starts afresh). */
  void clearFacts(String addonId, String owner, long epoch) {
    streams.updateOne(fenced(addonId, owner, epoch), Updates.unset("facts"));
  }

  /** The last saved facts of the addon's archive, {@link StreamFacts#NONE} when none. */
  StreamFacts facts(String addonId) {
    Document doc = streams.find(Filters.eq("_id", addonId)).projection(Projections.include("facts")).first();
    if (doc == null || !(doc.get("facts") instanceof Document facts)) {
      return StreamFacts.NONE;
    }
    return StoredRecords.fromBson(facts.toBsonDocument(Document.class, StoredRecords.REGISTRY), StreamFacts.class);
  }

  /** Gives the lease up at once (clean shutdown, addon gone), so another instance may take it without waiting. */
  void release(String addonId, String owner, long epoch, Instant now) {
    streams.updateOne(fenced(addonId, owner, epoch), Updates.set("leaseUntil", Date.from(now)));
  }

  private static org.bson.conversions.Bson fenced(String addonId, String owner, long epoch) {
    return Filters.and(Filters.eq("_id", addonId), Filters.eq("owner", owner), Filters.eq("epoch", epoch));
  }
}
