package dev.backstop.inprocess;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.ne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.bson.Document;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Queries that name an {@code _id} and more, answered from the {@code _id} index ({@link IdLookupIndex}):
 * the answers must be those of a scan, in memory and in the H2 file alike. Filters are flat documents,
 * {@code _id} first, as {@code ById.filter} writes them.
 */
class InProcessMongoIdQueriesTest {

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"memory", "h2"})
  void an_id_with_more_conditions_finds_the_document_only_when_they_all_hold(String backend) {
    withBackups(backend, backups -> {
      assertThat(ids(backups.find(new Document("_id", "b7").append("addonId", "a0").append("status", new Document("$ne", "PRUNED")))))
          .containsExactly("b7");
      assertThat(ids(backups.find(new Document("_id", "b7").append("addonId", "a1")))).isEmpty();
      assertThat(ids(backups.find(new Document("_id", "b42").append("rank", new Document("$lt", 2))))).isEmpty();
      assertThat(ids(backups.find(new Document("_id", "nope").append("addonId", "a0")))).isEmpty();
      // $in on _id and a condition on another field; $ne on _id itself (which no index answers) still scans
      assertThat(ids(backups.find(and(in("_id", List.of("b1", "b2", "b3", "zz")), ne("status", "PRUNED"))))).containsExactly("b1", "b3");
      assertThat(ids(backups.find(new Document("_id", new Document("$in", List.of("b1", "b2", "b3"))).append("rank", 2))))
          .containsExactly("b1", "b3");
      assertThat(backups.countDocuments(and(ne("_id", "b1"), eq("addonId", "a0")))).isEqualTo(9);
      return null;
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "h2"})
  void a_conditional_update_changes_the_document_only_when_the_condition_holds_and_an_upsert_then_collides(String backend) {
    withBackups(backend, backups -> {
      assertThat(backups.updateOne(new Document("_id", "b5").append("rank", new Document("$lt", 3)), Updates.set("rank", 3))
          .getModifiedCount()).isEqualTo(1);
      assertThat(backups.updateOne(new Document("_id", "b5").append("rank", new Document("$lt", 3)), Updates.set("rank", 1))
          .getMatchedCount()).isZero();
      assertThat(backups.find(eq("_id", "b5")).first().getInteger("rank")).isEqualTo(3);
      // what keeps replays idempotent: an upsert whose condition fails on an existing document is a duplicate key
      Document stale = new Document("_id", "b5").append("rank", new Document("$lt", 2));
      assertThatThrownBy(() -> backups.updateOne(stale, Updates.set("rank", 2), new UpdateOptions().upsert(true)))
          .isInstanceOfSatisfying(MongoWriteException.class,
              e -> assertThat(e.getError().getCategory()).isEqualTo(ErrorCategory.DUPLICATE_KEY));
      backups.updateOne(new Document("_id", "new").append("rank", new Document("$lt", 2)), Updates.set("rank", 1),
          new UpdateOptions().upsert(true));
      assertThat(backups.find(eq("_id", "new")).first().getInteger("rank")).isEqualTo(1);
      assertThat(backups.deleteOne(new Document("_id", "b6").append("addonId", "a9")).getDeletedCount()).isZero();
      assertThat(backups.deleteOne(new Document("_id", "b6").append("addonId", "a0")).getDeletedCount()).isEqualTo(1);
      assertThat(backups.countDocuments()).isEqualTo(30);
      return null;
    });
  }

  /** Thirty backups of three addons; every even-numbered one pruned (rank 3), the others done (rank 2). */
  private void withBackups(String backend, Function<MongoCollection<Document>, Void> test) {
    try (InProcessMongo mongo = backend.equals("h2") ? InProcessMongo.persistent(dir, 0) : InProcessMongo.inMemory();
        var client = MongoClients.create(mongo.uri())) {
      MongoCollection<Document> backups = client.getDatabase("test").getCollection("backups");
      List<Document> documents = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        boolean pruned = i % 2 == 0;
        documents.add(new Document("_id", "b" + i).append("addonId", "a" + (i / 10)).append("status", pruned ? "PRUNED" : "DONE")
            .append("rank", pruned ? 3 : 2));
      }
      backups.insertMany(documents);
      test.apply(backups);
    }
  }

  private static List<String> ids(Iterable<Document> found) {
    List<String> ids = new ArrayList<>();
    found.forEach(d -> ids.add(d.getString("_id")));
    return ids;
  }
}
