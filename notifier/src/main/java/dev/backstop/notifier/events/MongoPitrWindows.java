package dev.backstop.notifier.events;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.Date;
import org.bson.Document;

/** {@link PitrWindows} in the {@code pitr_windows} collection: {@code {_id: addon, at, broken}}. */
public class MongoPitrWindows implements PitrWindows {

  private final MongoCollection<Document> windows;

  public MongoPitrWindows(MongoDatabase database) {
    this.windows = database.getCollection("pitr_windows");
  }

  @Override
  public Before advance(String addonId, Instant at, boolean broken) {
    // one atomic step: the state before is what this update replaced, so two readers never both see the change
    Document before = windows.findOneAndUpdate(ById.filter(addonId, lt("at", Date.from(at))),
        Updates.combine(Updates.set("at", Date.from(at)), Updates.set("broken", broken)),
        new FindOneAndUpdateOptions().returnDocument(ReturnDocument.BEFORE));
    if (before != null) {
      return new Before(true, Boolean.TRUE.equals(before.getBoolean("broken")), false);
    }
    if (StoredRecords.insertIfAbsent(windows, new Document("_id", addonId).append("at", Date.from(at)).append("broken", broken))) {
      return new Before(false, false, false);
    }
    // known, at the same instant or later: nothing new
    return new Before(true, windows.find(eq("_id", addonId)).first().getBoolean("broken", false), true);
  }
}
