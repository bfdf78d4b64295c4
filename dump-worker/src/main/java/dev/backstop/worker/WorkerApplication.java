package dev.backstop.worker;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class WorkerApplication {

  /** Its own config name, so that it can share a JVM (the embedded mode) with the other services. */
  public static SpringApplicationBuilder builder() {
    return new SpringApplicationBuilder(WorkerApplication.class).properties("spring.config.name=dump-worker");
  }

  public static void main(String[] args) {
    builder().run(args);
  }
}
