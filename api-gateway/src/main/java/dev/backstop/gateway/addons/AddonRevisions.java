package dev.backstop.gateway.addons;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoCommandException;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import org.bson.Document;

/**
 * Hands out each addon's revisions, one counter document per addon ({@code addon_revisions}), so that
 * two changes to one addon never carry the same revision, even from two gateway instances: consumers
 * keep the newest revision and drop an equal one as a duplicate, which would silently lose a change.
 */
public class AddonRevisions {

  private final MongoCollection<Document> counters;

  public AddonRevisions(MongoDatabase database) {
    this.counters = database.getCollection("addon_revisions");
  }

  /**
   * The next revision of {@code addonId}, above {@code atLeastAbove} (the newest one already published,
   * e.g. by a gateway that kept no counter yet), allocated atomically.
   */
  public long next(String addonId, long atLeastAbove) {
    for (int attempt = 0; ; attempt++) {
      try {
        counters.updateOne(eq("_id", addonId), Updates.max("revision", atLeastAbove), new UpdateOptions().upsert(true));
        Document counter = counters.findOneAndUpdate(eq("_id", addonId), Updates.inc("revision", 1L),
            new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER));
        return ((Number) counter.get("revision")).longValue();
      } catch (MongoWriteException | MongoCommandException e) {
        // two first allocations upserting the same counter: one inserts, the other retries as an update
        boolean duplicate = e instanceof MongoWriteException w ? w.getError().getCategory() == ErrorCategory.DUPLICATE_KEY
            : ErrorCategory.fromErrorCode(((MongoCommandException) e).getErrorCode()) == ErrorCategory.DUPLICATE_KEY;
        if (!duplicate || attempt >= 3) {
          throw e;
        }
      }
    }
  }
}
