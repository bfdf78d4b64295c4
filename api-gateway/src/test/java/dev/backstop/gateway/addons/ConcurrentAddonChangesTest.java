package dev.backstop.gateway.addons;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.TestMongoDatabases;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two PUTs of one addon at the same moment: each gets its own revision and no consumer loses either. */
class ConcurrentAddonChangesTest {

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  /** Records what would go to the addons topic, in the order it is sent. */
  static final class RecordingPublisher extends EventPublisher {
    final List<SpecificRecord> sent = Collections.synchronizedList(new ArrayList<>());

    RecordingPublisher() {
      super(null, () -> "");
    }

    @Override
    public void publish(String topic, String addonId, SpecificRecord event) {
      Thread.yield(); // a publish takes a while: let the other request run meanwhile
      sent.add(event);
    }
  }

  private static AddonRegistration registration(int hour) {
    return new AddonRegistration("shop", "postgresql", "starter", "db", "u", "secret-pw",
        List.of(new AddonRegistration.Node("primary", "db-1", 5432)), new AddonRegistration.Schedule(true, hour, "UTC"));
  }

  /** Runs both registrations at once, {@code rounds} times, each pair released by one barrier. */
  private static void race(AddonRegistry first, AddonRegistry second, String addonId, int rounds) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < rounds; round++) {
        CyclicBarrier start = new CyclicBarrier(2);
        int hour = round % 20;
        Future<?> a = pool.submit(() -> { start.await(); return first.register(addonId, registration(hour)); });
        Future<?> b = pool.submit(() -> { start.await(); return second.register(addonId, registration(hour + 1)); });
        a.get(30, TimeUnit.SECONDS);
        b.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static long revision(SpecificRecord event) {
    return switch (event) {
      case AddonRegistered e -> e.getRevision();
      case AddonChanged e -> e.getRevision();
      default -> throw new AssertionError(event);
    };
  }

  @Test
  void two_racing_puts_publish_distinct_revisions_in_order_and_a_consumer_applies_both() throws Exception {
    var database = mongo.fresh("racing-puts");
    RecordingPublisher publisher = new RecordingPublisher();
    SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    AddonRegistry registry = new AddonRegistry(new KnownAddons(database, "addons"), new AddonRevisions(database), publisher,
        sealer, Clock.systemUTC());

    race(registry, registry, "pg-1", 25);

    List<Long> revisions = publisher.sent.stream().map(ConcurrentAddonChangesTest::revision).toList();
    assertThat(revisions).hasSize(50).doesNotHaveDuplicates().isSorted();
    assertThat(publisher.sent.get(0)).isInstanceOf(AddonRegistered.class);
    assertThat(publisher.sent.subList(1, 50)).allMatch(AddonChanged.class::isInstance);

    KnownAddons consumer = new KnownAddons(mongo.fresh("racing-puts-consumer"), "addons");
    List<Boolean> applied = publisher.sent.stream().map(e -> {
      var spec = e instanceof AddonRegistered r ? r.getAddon() : ((AddonChanged) e).getAddon();
      return consumer.upsert(spec, revision(e));
    }).toList();
    assertThat(applied).containsOnly(true);
    var last = publisher.sent.get(49);
    assertThat(consumer.find("pg-1").orElseThrow().revision()).isEqualTo(revision(last));
    assertThat(consumer.find("pg-1").orElseThrow().schedule().at().hour())
        .isEqualTo(((AddonChanged) last).getAddon().getSchedule().getHour());
  }

  @Test
  void two_gateway_instances_changing_one_addon_at_once_never_mint_the_same_revision() throws Exception {
    var database = mongo.fresh("two-gateways");
    RecordingPublisher publisher = new RecordingPublisher();
    SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    // each instance has its own locks; only the shared counter keeps them apart
    AddonRegistry one = new AddonRegistry(new KnownAddons(database, "addons"), new AddonRevisions(database), publisher, sealer,
        Clock.systemUTC());
    AddonRegistry other = new AddonRegistry(new KnownAddons(database, "addons"), new AddonRevisions(database), publisher, sealer,
        Clock.systemUTC());

    race(one, other, "pg-2", 25);

    assertThat(publisher.sent.stream().map(ConcurrentAddonChangesTest::revision).toList())
        .hasSize(50).doesNotHaveDuplicates();
  }
}
