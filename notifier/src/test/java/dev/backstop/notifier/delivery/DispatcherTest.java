package dev.backstop.notifier.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.notifier.endpoints.Endpoint;
import dev.backstop.notifier.endpoints.MongoEndpoints;
import dev.backstop.notifier.events.MongoRecentNotifications;
import dev.backstop.notifier.events.Notification;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.TestMongo;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deliveries made from either side, once, against the in-process store. */
class DispatcherTest {

  private MongoHandle mongo;
  private MongoClient client;
  private MongoDeliveries deliveries;
  private MongoEndpoints endpoints;
  private Dispatcher dispatcher;
  /** Real time, moved forward by the test: deliveries are due from when they are added. */
  private final AdjustableClock clock = new AdjustableClock();

  @BeforeEach
  void start() {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
    var database = client.getDatabase("dispatcher-" + System.nanoTime());
    deliveries = new MongoDeliveries(database);
    endpoints = new MongoEndpoints(database);
    dispatcher = new Dispatcher(endpoints, deliveries, new MongoRecentNotifications(database), clock, Duration.ofDays(2));
  }

  @AfterEach
  void stop() {
    client.close();
    mongo.close();
  }

  private Endpoint endpoint(String id, String app, Instant registeredAt) {
    return new Endpoint(id, app, "https://hooks.example.com/" + id, List.of("backup.failed"), "k", new byte[] {1}, registeredAt,
        Endpoint.State.ACTIVE, 0, null, null);
  }

  private Notification failure(String id, String app, Instant at) {
    return new Notification(id, app, "backup.failed", at, "{}");
  }

  @Test
  void a_registration_read_after_the_event_still_gets_it_and_a_second_read_adds_nothing() {
    Instant now = clock.instant();
    dispatcher.notify(failure("msg_1", "shop", now));
    dispatcher.notify(failure("msg_old", "shop", now.minusSeconds(3600)));
    dispatcher.notify(failure("msg_other", "blog", now));

    dispatcher.registered(endpoint("wh_1", "shop", now.minusSeconds(60)));
    dispatcher.registered(endpoint("wh_1", "shop", now.minusSeconds(60)));
    dispatcher.notify(failure("msg_1", "shop", now));

    assertThat(deliveries.due(clock.instant(), 10)).extracting(Delivery::id).containsExactly("wh_1/msg_1");
  }

  @Test
  void events_older_than_the_maximum_age_are_neither_delivered_nor_kept_and_finished_deliveries_are_forgotten() {
    Instant now = clock.instant();
    dispatcher.registered(endpoint("wh_1", "shop", now.minus(Duration.ofDays(10))));
    dispatcher.notify(failure("msg_ancient", "shop", now.minus(Duration.ofDays(3))));
    dispatcher.notify(failure("msg_1", "shop", now));
    deliveries.recordAttempt("wh_1/msg_1", 1, Delivery.Status.DELIVERED, now, null, 204, null);

    clock.advance(Duration.ofDays(3));
    long forgotten = dispatcher.forgetOld();
    dispatcher.notify(failure("msg_1", "shop", now));

    assertThat(forgotten).isEqualTo(2);
    assertThat(deliveries.due(clock.instant(), 10)).as("a replay of a forgotten event adds nothing").isEmpty();
  }
}
