package dev.backstop.walarchiver;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.InProcessMongo;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StreamLeasesTest {

  static final Duration LEASE = Duration.ofSeconds(30);
  static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");

  InProcessMongo mongo;
  MongoClient client;
  StreamLeases leases;

  @BeforeEach
  void setUp() {
    mongo = InProcessMongo.inMemory();
    client = MongoClients.create(mongo.uri());
    leases = new StreamLeases(client.getDatabase("wal"));
  }

  @AfterEach
  void tearDown() {
    client.close();
    mongo.close();
  }

  @Test
  void a_held_lease_cannot_be_claimed_by_another_instance() {
    assertThat(leases.claim("a1", "one", T0, LEASE)).isEqualTo(OptionalLong.of(1));

    assertThat(leases.claim("a1", "two", T0.plusSeconds(10), LEASE)).isEmpty();
    assertThat(leases.renew("a1", "one", 1, T0.plusSeconds(10), LEASE)).isTrue();
  }

  @Test
  void a_lapsed_lease_is_taken_over_with_a_new_epoch_and_the_stale_owner_is_fenced_off() {
    leases.claim("a1", "one", T0, LEASE);

    OptionalLong taken = leases.claim("a1", "two", T0.plusSeconds(31), LEASE);

    assertThat(taken).isEqualTo(OptionalLong.of(2));
    assertThat(leases.renew("a1", "one", 1, T0.plusSeconds(32), LEASE)).as("stale owner's renewal").isFalse();
    assertThat(leases.record("a1", "one", 1, 1, "0/3000000", "n", T0.plusSeconds(32))).as("stale owner's write").isFalse();
    assertThat(leases.record("a1", "two", 2, 1, "0/3000000", "n", T0.plusSeconds(32))).isTrue();
  }

  @Test
  void a_released_lease_is_free_at_once() {
    leases.claim("a1", "one", T0, LEASE);
    leases.release("a1", "one", 1, T0.plusSeconds(1));

    assertThat(leases.claim("a1", "two", T0.plusSeconds(2), LEASE)).isEqualTo(OptionalLong.of(2));
  }
}
