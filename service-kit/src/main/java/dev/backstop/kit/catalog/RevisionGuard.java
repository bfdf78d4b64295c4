package dev.backstop.kit.catalog;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * Applies an addon event to a service's own copy only if its revision is newer than the stored one,
 * so redelivered, replayed or late events change nothing. No transactions needed: the revision
 * condition and the upsert are one atomic document write.
 */
public final class RevisionGuard {

  private RevisionGuard() {}

  /** Writes {@code update} (and the revision) to document {@code id}; false if a newer or equal revision is stored. */
  public static boolean applyIfNewer(MongoCollection<Document> collection, String id, long revision, Bson update) {
    try {
      var result = collection.updateOne(and(eq("_id", id), lt("revision", revision)),
          Updates.combine(Updates.set("revision", revision), update), new UpdateOptions().upsert(true));
      return result.getModifiedCount() > 0 || result.getUpsertedId() != null;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() == ErrorCategory.DUPLICATE_KEY) {
        // the filter missed because the stored revision is newer, and the upsert hit the existing _id
        return false;
      }
      throw e;
    }
  }
}
