package dev.backstop.notifier;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class NotifierApplication {

  /** Its own config name, so that it can share a JVM (the embedded mode) with the other services. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(NotifierApplication.class).properties("spring.config.name=notifier");
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}
