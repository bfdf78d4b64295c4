package dev.backstop.notifier.messaging;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.kit.webhook.WebhookUrlProperties;
import dev.backstop.notifier.config.NotifierProperties;
import dev.backstop.notifier.delivery.Deliveries;
import dev.backstop.notifier.delivery.DeliveryRunner;
import dev.backstop.notifier.delivery.Dispatcher;
import dev.backstop.notifier.delivery.HttpWebhookSender;
import dev.backstop.notifier.delivery.MongoDeliveries;
import dev.backstop.notifier.delivery.RetrySchedule;
import dev.backstop.notifier.endpoints.Endpoint;
import dev.backstop.notifier.endpoints.Endpoints;
import dev.backstop.notifier.endpoints.MongoEndpoints;
import dev.backstop.notifier.events.MongoPitrWindows;
import dev.backstop.notifier.events.MongoRecentNotifications;
import dev.backstop.notifier.events.Notifications;
import dev.backstop.schemas.events.WebhookEndpointDisabled;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.events.WebhookEndpointRemoved;
import dev.backstop.schemas.secret.SecretSealer;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.EnableScheduling;
import org.springframework.scheduling.annotation.Scheduled;

/**
 * The notifier's handlers: endpoints from {@code backstop.webhooks}, app ownership from
 * {@code backstop.addons}, notifications from {@code backstop.backup-events} and
 * {@code backstop.pitr-events}. Handlers only record (deliveries to make, endpoints); the runner sends.
 */
@Configuration
@EnableScheduling
public class NotifierMessagingConfiguration {

  @Bean
  public KnownAddons knownAddons(MongoDatabase database) {
    return new KnownAddons(database, "addons");
  }

  @Bean
  public Endpoints endpoints(MongoDatabase database) {
    return new MongoEndpoints(database);
  }

  @Bean
  public Deliveries deliveries(MongoDatabase database) {
    return new MongoDeliveries(database);
  }

  @Bean
  public Notifications notifications(MongoDatabase database, KnownAddons addons) {
    return new Notifications(new MongoPitrWindows(database), addonId -> addons.find(addonId).map(Addon::appName));
  }

  @Bean
  public Dispatcher dispatcher(Endpoints endpoints, Deliveries deliveries, MongoDatabase database, Clock clock,
      NotifierProperties properties) {
    return new Dispatcher(endpoints, deliveries, new MongoRecentNotifications(database), clock, properties.maxEventAge());
  }

  @Bean(destroyMethod = "close")
  public HttpWebhookSender webhookSender(WebhookUrlProperties urls, NotifierProperties properties) {
    return new HttpWebhookSender(urls.policy(), properties.connectTimeout(), properties.readTimeout(),
        properties.attemptTimeout(), (int) properties.maxResponseBytes().toBytes(), properties.workers() * 2);
  }

  @Bean(initMethod = "start", destroyMethod = "close")
  public DeliveryRunner deliveryRunner(Deliveries deliveries, Endpoints endpoints, HttpWebhookSender sender,
      EventPublisher publisher, SecretSealer sealer, Clock clock, NotifierProperties properties) {
    return new DeliveryRunner(deliveries, endpoints, sender, new KafkaDeliveryLog(publisher), sealer,
        new RetrySchedule(properties.retryDelays()), clock, new DeliveryRunner.Settings(properties.workers(),
            properties.pollInterval(), properties.leaseTime(), properties.disableAfterFailures(), properties.disableAfter()));
  }

  @Bean
  public Consumer<SpecificRecord> addonEvents(KnownAddons addons) {
    return addons.consumer();
  }

  @Bean
  public Consumer<SpecificRecord> webhookEvents(Dispatcher dispatcher, Endpoints endpoints) {
    return event -> {
      switch (event) {
        case WebhookEndpointRegistered e -> dispatcher.registered(endpointOf(e));
        case WebhookEndpointRemoved e -> endpoints.markRemoved(e.getEndpointId());
        case WebhookEndpointDisabled e -> endpoints.markDisabled(e.getEndpointId());
        case null, default -> { }
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> backupEvents(Notifications notifications, Dispatcher dispatcher) {
    return event -> {
      if (event != null) {
        notifications.of(event).ifPresent(dispatcher::notify);
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> pitrEvents(Notifications notifications, Dispatcher dispatcher) {
    return event -> {
      if (event != null) {
        notifications.of(event).ifPresent(dispatcher::notify);
      }
    };
  }

  @Bean
  public OldNotifications oldNotifications(Dispatcher dispatcher) {
    return new OldNotifications(dispatcher);
  }

  /** Drops kept notifications and finished deliveries once their events are too old to be delivered again. */
  public static class OldNotifications {
    private final Dispatcher dispatcher;

    OldNotifications(Dispatcher dispatcher) {
      this.dispatcher = dispatcher;
    }

    @Scheduled(fixedDelay = 3_600_000, initialDelay = 60_000)
    public void forget() {
      dispatcher.forgetOld();
    }
  }

  static Endpoint endpointOf(WebhookEndpointRegistered e) {
    ByteBuffer sealed = e.getSecret().getCiphertext().duplicate();
    byte[] ciphertext = new byte[sealed.remaining()];
    sealed.get(ciphertext);
    return new Endpoint(e.getEndpointId(), e.getAppName(), e.getUrl(), e.getEventTypes().stream().map(CharSequence::toString).toList(),
        e.getSecret().getKeyId(), ciphertext, e.getRegisteredAt(), Endpoint.State.ACTIVE, 0, null, null);
  }
}
