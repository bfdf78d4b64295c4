package dev.backstop.retention;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class RetentionApplication {

  /** Its own config name, so that it can share a JVM (the embedded mode) with the other services. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(RetentionApplication.class).properties("spring.config.name=retention-service");
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}
