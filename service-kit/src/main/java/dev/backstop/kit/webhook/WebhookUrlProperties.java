package dev.backstop.kit.webhook;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Which webhook URLs are accepted ({@code backstop.webhooks.*}); read by the gateway when an endpoint is
 * registered and by the notifier before each delivery, so both apply the same rule.
 *
 * @param allowHttp accept {@code http://} URLs besides {@code https://}: for tests and closed networks only,
 *     since a plain-HTTP delivery can be read and replayed on the way
 * @param allowPrivateAddresses accept URLs whose host is, or resolves to, a loopback, link-local, private,
 *     shared (100.64/10), unique-local or unspecified address: for tests only, since otherwise a customer's
 *     webhook reaches Backstop's own network (metadata services, databases, admin ports)
 */
@Validated
@ConfigurationProperties("backstop.webhooks")
public record WebhookUrlProperties(
    @DefaultValue("false") boolean allowHttp,
    @DefaultValue("false") boolean allowPrivateAddresses) {

  /** The rule these settings give. */
  public WebhookUrlPolicy policy() {
    return new WebhookUrlPolicy(allowHttp, allowPrivateAddresses);
  }
}
