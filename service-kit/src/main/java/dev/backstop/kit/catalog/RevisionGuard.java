package dev.backstop.kit.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.exists;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.or;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * Applies an addon event to a service's own copy only if its revision is newer than the stored one,
 * so redelivered, replayed or late events change nothing. No transactions needed: the revision
 * condition and the write are one atomic document update.
 *
 * <p>The common cases skip that conditional update: a first event inserts (a duplicate key means a
 * concurrent writer won, and the conditional path decides), and a stale one is recognised by a read.
 * Both are lookups by {@code _id} alone, which every store serves from its id index.
 */
public final class RevisionGuard {

  private RevisionGuard() {}

  /** Writes {@code update} (and the revision) to document {@code id}; false if a newer or equal revision is stored. */
  public static boolean applyIfNewer(MongoCollection<Document> collection, String id, long revision, Bson update) {
    Document stored = collection.find(eq("_id", id)).projection(Projections.include("revision")).first();
    BsonDocument fresh = stored == null ? documentOf(id, Updates.combine(Updates.set("revision", revision), update)) : null;
    if (fresh != null) {
      try {
        collection.withDocumentClass(BsonDocument.class).insertOne(fresh);
        return true;
      } catch (MongoWriteException e) {
        if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
          throw e;
        }
        // a concurrent writer inserted it first: decide below, atomically
      }
    } else if (stored != null && stored.get("revision") instanceof Number storedRevision && storedRevision.longValue() >= revision) {
      return false;
    }
    try {
      // a document other writers created first has no revision yet: any revision is newer
      var result = collection.updateOne(ById.filter(id, or(lt("revision", revision), exists("revision", false))),
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

  /** The document a {@code $set}-only update creates on an empty id; null for any other update. */
  private static BsonDocument documentOf(String id, Bson update) {
    BsonDocument rendered = update.toBsonDocument();
    if (rendered.size() != 1 || !rendered.containsKey("$set")) {
      return null;
    }
    BsonDocument document = new BsonDocument("_id", new BsonString(id));
    for (var field : rendered.getDocument("$set").entrySet()) {
      String[] path = field.getKey().split("\\.");
      BsonDocument parent = document;
      for (int i = 0; i < path.length - 1; i++) {
        if (!parent.isDocument(path[i])) {
          parent.put(path[i], new BsonDocument());
        }
        parent = parent.getDocument(path[i]);
      }
      parent.put(path[path.length - 1], field.getValue());
    }
    return document;
  }
}
