package dev.backstop.gateway.config;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/** Gateway settings ({@code backstop.gateway.*}). */
@Validated
@ConfigurationProperties("backstop.gateway")
public class GatewayProperties {

  /** Bearer token of the platform operator, required on {@code /v1/addons}; from {@code BACKSTOP_OPERATOR_TOKEN}. */
  @NotBlank(message = "set BACKSTOP_OPERATOR_TOKEN: operator endpoints need a token")
  @Size(min = 16, message = "the operator token must be at least 16 characters")
  private String operatorToken;

  public String getOperatorToken() {
    return operatorToken;
  }

  public void setOperatorToken(String operatorToken) {
    this.operatorToken = operatorToken;
  }
}
