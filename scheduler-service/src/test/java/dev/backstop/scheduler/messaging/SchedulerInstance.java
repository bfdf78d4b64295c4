package dev.backstop.scheduler.messaging;

import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.scheduler.SchedulerApplication;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.context.ConfigurableApplicationContext;

/** Starts a scheduler instance as it runs (its own yml), on the test's broker, store and clock. */
final class SchedulerInstance {

  private SchedulerInstance() {}

  /** {@code settings}: further {@code --name=value} arguments, e.g. a short tick. */
  static ConfigurableApplicationContext start(InProcessKafka kafka, MongoHandle mongo, Clock clock, String... settings) {
    List<String> args = new ArrayList<>(List.of("--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.mongodb.uri=" + mongo.uri()));
    args.addAll(List.of(settings));
    return SchedulerApplication.builder()
        .initializers(context -> context.getBeanFactory().registerSingleton("clock", clock))
        .run(args.toArray(String[]::new));
  }
}
