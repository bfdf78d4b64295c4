package dev.backstop.gateway.webhooks;

import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import dev.backstop.schemas.events.WebhookEndpointDisabled;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.events.WebhookEndpointRemoved;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Keeps the endpoints and their delivery log from {@code backstop.webhooks} and {@code backstop.webhook-deliveries}. */
@Configuration
public class WebhookEventsConfiguration {

  @Bean
  public Consumer<SpecificRecord> webhookEvents(WebhookEndpoints endpoints) {
    return event -> {
      switch (event) {
        case WebhookEndpointRegistered e -> endpoints.add(new WebhookEndpoints.Endpoint(e.getEndpointId(), e.getAppName(),
            e.getUrl(), e.getEventTypes().stream().map(CharSequence::toString).toList(), e.getRegisteredAt(), false, null, null));
        case WebhookEndpointRemoved e -> endpoints.markRemoved(e.getEndpointId());
        case WebhookEndpointDisabled e -> endpoints.markDisabled(e.getEndpointId(), e.getDisabledAt(), e.getLastError());
        case null, default -> { }
      }
    };
  }

  @Bean
  public Consumer<SpecificRecord> webhookDeliveries(WebhookDeliveryLog log) {
    return event -> {
      if (event instanceof WebhookDeliveryAttempted e) {
        log.record(e);
      }
    };
  }
}
