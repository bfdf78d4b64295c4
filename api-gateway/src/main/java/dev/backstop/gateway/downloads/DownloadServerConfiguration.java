package dev.backstop.gateway.downloads;

import dev.backstop.gateway.config.GatewayProperties;
import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Tomcat tuned for streaming archives: a decrypted download leaves the JVM through the connection's
 * socket buffer, so that buffer is off the heap (no extra copy by the JDK) and large enough that a
 * gigabyte is not tens of thousands of small writes.
 */
@Configuration(proxyBeanMethods = false)
class DownloadServerConfiguration {

  @Bean
  TomcatConnectorCustomizer downloadSocketBuffers(GatewayProperties properties) {
    return connector -> {
      connector.setProperty("socket.directBuffer", "true");
      connector.setProperty("socket.appWriteBufSize", Long.toString(properties.socketWriteBuffer().toBytes()));
    };
  }
}
