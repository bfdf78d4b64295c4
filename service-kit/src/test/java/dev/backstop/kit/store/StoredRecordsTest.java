package dev.backstop.kit.store;

import static com.mongodb.client.model.Filters.eq;
import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.BackupTime;
import dev.backstop.kit.addon.DailySchedule;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.bson.Document;
import org.bson.codecs.pojo.annotations.BsonId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

public class StoredRecordsTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  /** Stored records must be public, and so must the classes they are nested in: the codec reads them reflectively. */
  public record Lease(@BsonId String id, Plan plan, Instant until, ZoneId zone, String holder) {}

  private static Addon addon(String id, Plan plan) {
    return new Addon(id, "shop", Engine.POSTGRESQL, plan, "db", "u", new Addon.SealedPassword("k1", new byte[] {1, 2, 3}),
        List.of(new Addon.Node(NodeRole.PRIMARY, "db-1", 5432), new Addon.Node(NodeRole.SECONDARY, "db-2", 5433)),
        new DailySchedule(true, new BackupTime(4, ZoneId.of("America/New_York"))), false, 7);
  }

  @Test
  void an_addon_comes_back_equal_with_its_enums_zone_nodes_and_sealed_bytes() {
    MongoCollection<Addon> c = StoredRecords.collection(mongo.named("records"), "round-trip", Addon.class);
    Addon stored = addon("a-1", Plan.BUSINESS);
    c.insertOne(stored);

    assertThat(c.find(eq("_id", "a-1")).first()).isEqualTo(stored);
  }

  @Test
  void enums_and_zones_are_stored_by_name_so_queries_and_other_readers_see_plain_strings() {
    var database = mongo.named("records");
    StoredRecords.collection(database, "plain", Addon.class).insertOne(addon("a-2", Plan.STARTER));

    Document raw = database.getCollection("plain").find(eq("plan", "STARTER")).first();
    assertThat(raw).isNotNull();
    assertThat(raw.get("schedule", Document.class).get("at", Document.class).getString("zone")).isEqualTo("America/New_York");
    assertThat(raw.getList("nodes", Document.class).get(1).getString("role")).isEqualTo("SECONDARY");
  }

  @Test
  void a_null_component_is_left_out_and_reads_back_as_null() {
    MongoCollection<Lease> c = StoredRecords.collection(mongo.named("records"), "leases", Lease.class);
    Instant until = Instant.parse("2026-12-01T10:15:30.123Z");
    c.insertOne(new Lease("l-1", Plan.SANDBOX, until, ZoneId.of("UTC"), null));

    assertThat(mongo.named("records").getCollection("leases").find().first()).doesNotContainKey("holder");
    assertThat(c.find().first()).isEqualTo(new Lease("l-1", Plan.SANDBOX, until, ZoneId.of("UTC"), null));
  }

  @Test
  void fields_a_record_does_not_name_are_skipped_when_reading_it() {
    var database = mongo.named("records");
    database.getCollection("extra").insertOne(new Document("_id", "l-2").append("plan", "BUSINESS")
        .append("plans", new Document("r1", new Document("at", new java.util.Date(0)))).append("somethingElse", 3));

    assertThat(StoredRecords.collection(database, "extra", Lease.class).find().first())
        .isEqualTo(new Lease("l-2", Plan.BUSINESS, null, null, null));
  }

  @Test
  void set_all_updates_each_field_and_unsets_the_ones_now_null() {
    var database = mongo.named("records");
    MongoCollection<Lease> c = StoredRecords.collection(database, "updates", Lease.class);
    c.insertOne(new Lease("l-3", Plan.STARTER, Instant.EPOCH, ZoneId.of("UTC"), "worker-1"));

    database.getCollection("updates").updateOne(eq("_id", "l-3"), Updates.combine(
        StoredRecords.setAll(new Lease("ignored", Plan.BUSINESS, Instant.EPOCH, ZoneId.of("Europe/Paris"), null), "", "_id"),
        Updates.set("other", 1)));

    assertThat(c.find().first()).isEqualTo(new Lease("l-3", Plan.BUSINESS, Instant.EPOCH, ZoneId.of("Europe/Paris"), null));
  }
}
