package dev.backstop.worker.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HostSlotsTest {

  private static final Instant NOW = Instant.parse("2026-11-22T01:00:00Z");

  private MongoHandle mongo;
  private MongoClient client;
  private HostSlots slots;

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    slots = new HostSlots(client.getDatabase("slots-" + System.nanoTime()));
  }

  @AfterEach
  void stop() {
    client.close();
    mongo.close();
  }

  @Test
  void a_host_runs_at_most_its_limit_of_dumps_and_a_released_slot_is_taken_by_the_next() {
    assertThat(slots.acquire("db-1", 2, "b1", NOW, NOW.plusSeconds(30))).contains("db-1#0");
    assertThat(slots.acquire("db-1", 2, "b2", NOW, NOW.plusSeconds(30))).contains("db-1#1");
    assertThat(slots.acquire("db-1", 2, "b3", NOW, NOW.plusSeconds(30))).isEmpty();
    assertThat(slots.acquire("db-2", 2, "b3", NOW, NOW.plusSeconds(30))).as("another host").contains("db-2#0");

    slots.release("db-1#0", "b1");
    assertThat(slots.acquire("db-1", 2, "b4", NOW, NOW.plusSeconds(30))).contains("db-1#0");
  }

  @Test
  void a_slot_whose_holder_stopped_renewing_frees_itself_and_a_renewed_one_does_not() {
    slots.acquire("db-1", 1, "b1", NOW, NOW.plusSeconds(30));
    slots.renew("db-1#0", "b1", NOW.plusSeconds(60));
    assertThat(slots.acquire("db-1", 1, "b2", NOW.plusSeconds(45), NOW.plusSeconds(75))).isEmpty();

    assertThat(slots.acquire("db-1", 1, "b2", NOW.plusSeconds(61), NOW.plusSeconds(91))).contains("db-1#0");
    slots.release("db-1#0", "b1");
    assertThat(slots.acquire("db-1", 1, "b3", NOW.plusSeconds(62), NOW.plusSeconds(92))).as("b1 no longer held it").isEmpty();
  }

  @Test
  void a_look_before_planning_sees_whether_any_of_an_addons_hosts_has_a_slot_free() {
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b9", NOW)).as("nothing held yet").isTrue();
    slots.acquire("db-1", 1, "b1", NOW, NOW.plusSeconds(30));
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b9", NOW)).as("db-2 is free").isTrue();
    slots.acquire("db-2", 1, "b2", NOW, NOW.plusSeconds(30));
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b9", NOW)).isFalse();
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b1", NOW)).as("b1 holds one").isTrue();
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b9", NOW.plusSeconds(31))).as("leases ran out").isTrue();
    slots.release("db-1#0", "b1");
    assertThat(slots.anyFree(java.util.List.of("db-1", "db-2"), 1, "b9", NOW)).as("released").isTrue();
  }

  @Test
  void the_same_backup_asking_again_keeps_its_slot() {
    assertThat(slots.acquire("db-1", 1, "b1", NOW, NOW.plusSeconds(30))).contains("db-1#0");
    assertThat(slots.acquire("db-1", 1, "b1", NOW, NOW.plusSeconds(30))).contains("db-1#0");
  }
}
