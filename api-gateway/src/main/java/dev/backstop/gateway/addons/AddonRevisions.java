package dev.backstop.gateway.addons;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import org.bson.Document;

/**
 * Hands out each addon's revisions so that two changes to one addon never carry the same revision,
 * even from two gateway instances: consumers keep the newest revision and drop an equal one as a
 * duplicate, which would silently lose a change.
 *
 * <p>A revision is taken by inserting its claim, {@code {_id: "<addon>#<revision>"}} in
 * {@code addon_revisions}: the unique {@code _id} makes exactly one insert win, on real MongoDB and on
 * the in-process store alike. (A counter document bumped with {@code $inc} is atomic on MongoDB, but
 * the in-process store used by the tests loses concurrent updates of one document.) Claims are a few
 * bytes, one per change of an addon.
 */
public class AddonRevisions {

  private final MongoCollection<Document> claims;

  public AddonRevisions(MongoDatabase database) {
    this.claims = database.getCollection("addon_revisions");
  }

  /** The next free revision of {@code addonId} above {@code published}, the newest one this instance has seen applied. */
  public long next(String addonId, long published) {
    for (long revision = published + 1; ; revision++) {
      try {
        claims.insertOne(new Document("_id", addonId + "#" + revision));
        return revision;
      } catch (MongoWriteException e) {
        if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
          throw e;
        }
        // taken by a concurrent change (or one not yet applied here): try the next
      }
    }
  }
}
