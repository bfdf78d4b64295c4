package dev.backstop.kit.catalog;

import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * A filter on {@code _id} plus conditions, written as one flat document ({@code {_id: …, rev: {$lt: …}}})
 * rather than the driver's {@code {$and: [...]}}. Both mean the same to MongoDB; the in-process store
 * only looks a document up by its id index when {@code _id} is a top-level key, and scans the whole
 * collection otherwise.
 */
public final class ById {

  private ById() {}

  /** {@code conditions} must name distinct fields other than {@code _id}. */
  public static Bson filter(Object id, Bson... conditions) {
    Document filter = new Document("_id", id);
    for (Bson condition : conditions) {
      condition.toBsonDocument().forEach((field, value) -> {
        if (filter.put(field, value) != null) {
          throw new IllegalArgumentException("two conditions on " + field);
        }
      });
    }
    return filter;
  }
}
