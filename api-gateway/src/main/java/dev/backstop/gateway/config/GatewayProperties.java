package dev.backstop.gateway.config;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;
import org.springframework.validation.annotation.Validated;

/** Gateway settings ({@code backstop.gateway.*}). */
@Validated
@ConfigurationProperties("backstop.gateway")
public class GatewayProperties {

  /** Bearer token of the platform operator, required on {@code /v1/addons}; from {@code BACKSTOP_OPERATOR_TOKEN}. */
  @NotBlank(message = "set BACKSTOP_OPERATOR_TOKEN: operator endpoints need a token")
  @Size(min = 16, message = "the operator token must be at least 16 characters")
  private String operatorToken;

  /**
   * Bytes Tomcat copies into a connection's socket buffer per write: downloads of large archives make
   * one system call per buffer, so Tomcat's 8 KiB default costs more than the decryption. Held by each
   * open connection, off the heap.
   */
  @NotNull
  @DataSizeUnit(DataUnit.KILOBYTES)
  private DataSize socketWriteBuffer = DataSize.ofKilobytes(128);

  public DataSize getSocketWriteBuffer() {
    return socketWriteBuffer;
  }

  public void setSocketWriteBuffer(DataSize socketWriteBuffer) {
    this.socketWriteBuffer = socketWriteBuffer;
  }

  public String getOperatorToken() {
    return operatorToken;
  }

  public void setOperatorToken(String operatorToken) {
    this.operatorToken = operatorToken;
  }
}
