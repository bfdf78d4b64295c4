package dev.backstop.gateway.config;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;
import org.springframework.validation.annotation.Validated;

/**
 * Gateway settings ({@code backstop.gateway.*}).
 *
 * @param operatorToken bearer token of the platform operator, required on {@code /v1/addons}; from
 *     {@code BACKSTOP_OPERATOR_TOKEN}
 * @param socketWriteBuffer bytes Tomcat copies into a connection's socket buffer per write: downloads of
 *     large archives make one system call per buffer, so Tomcat's 8 KiB default costs more than the
 *     decryption. Held by each open connection, off the heap.
 * @param linkTtl how long a signed download link works
 * @param maxWebhooksPerApp webhook endpoints an app may register; one more is refused (409)
 */
@Validated
@ConfigurationProperties("backstop.gateway")
public record GatewayProperties(
    @NotBlank(message = "set BACKSTOP_OPERATOR_TOKEN: operator endpoints need a token")
    @Size(min = 16, message = "the operator token must be at least 16 characters")
    String operatorToken,
    @NotNull @DefaultValue("128KB") @DataSizeUnit(DataUnit.KILOBYTES) DataSize socketWriteBuffer,
    @NotNull @DefaultValue("10m") Duration linkTtl,
    @jakarta.validation.constraints.Min(1) @DefaultValue("10") int maxWebhooksPerApp) {

  @Override
  public String toString() {
    // the token is a credential: this may end up in a log line or a failure message
    return "GatewayProperties[operatorToken=<hidden>, socketWriteBuffer=" + socketWriteBuffer + ", linkTtl=" + linkTtl
        + ", maxWebhooksPerApp=" + maxWebhooksPerApp + "]";
  }
}
