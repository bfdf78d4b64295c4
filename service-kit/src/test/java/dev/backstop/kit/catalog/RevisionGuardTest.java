package dev.backstop.kit.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Updates;
import dev.backstop.testing.TestMongoDatabases;
import java.util.Date;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RevisionGuardTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private MongoCollection<Document> collection(String name) {
    return mongo.named("guard").getCollection(name);
  }

  @Test
  void a_first_event_creates_the_document_with_nested_fields_and_types_intact() {
    var c = collection("first");
    Date at = new Date(1_700_000_000_000L);
    assertThat(RevisionGuard.applyIfNewer(c, "a", 1, Updates.combine(
        Updates.set("plan", "STARTER"), Updates.set("state.removed", true), Updates.set("at", at), Updates.set("n", 5L)))).isTrue();
    Document d = c.find().first();
    assertThat(d.getLong("revision")).isEqualTo(1L);
    assertThat(d.get("state", Document.class).getBoolean("removed")).isTrue();
    assertThat(d.getDate("at")).isEqualTo(at);
    assertThat(d.getLong("n")).isEqualTo(5L);
  }

  @Test
  void only_a_newer_revision_changes_the_document() {
    var c = collection("newer");
    RevisionGuard.applyIfNewer(c, "a", 2, Updates.set("plan", "BUSINESS"));
    assertThat(RevisionGuard.applyIfNewer(c, "a", 1, Updates.set("plan", "SANDBOX"))).isFalse();
    assertThat(RevisionGuard.applyIfNewer(c, "a", 2, Updates.set("plan", "SANDBOX"))).isFalse();
    assertThat(c.find().first().getString("plan")).isEqualTo("BUSINESS");
    assertThat(RevisionGuard.applyIfNewer(c, "a", 3, Updates.set("plan", "STARTER"))).isTrue();
    assertThat(c.find().first().getString("plan")).isEqualTo("STARTER");
    assertThat(c.find().first().getLong("revision")).isEqualTo(3L);
  }

  @Test
  void a_document_created_by_other_writers_takes_its_first_revision() {
    var c = collection("other");
    c.insertOne(new Document("_id", "a").append("backups", new Document()));
    assertThat(RevisionGuard.applyIfNewer(c, "a", 1, Updates.set("plan", "STARTER"))).isTrue();
    assertThat(c.find().first().getString("plan")).isEqualTo("STARTER");
    assertThat(c.find().first().get("backups")).isNotNull();
  }
}
