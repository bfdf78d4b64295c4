package dev.backstop.gateway;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class GatewayApplication {

  /** Its own config name, so that it can share a JVM (the embedded mode) with the other services. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(GatewayApplication.class).properties("spring.config.name=api-gateway");
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}
