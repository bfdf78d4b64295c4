package dev.backstop.kit.messaging;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.NewTopic;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;

/** The dead-letter topics of a service: one per input binding's topic and group, as its configuration names them. */
public final class DeadLetterTopics {

  private static final Map<String, String> KEEP_FOREVER =
      Map.of("retention.ms", "-1", "retention.bytes", "-1", "cleanup.policy", "delete");

  private DeadLetterTopics() {}

  /** What a binding's settings say about where it reads; the rest of them is the binder's. */
  public record Binding(String destination, String group) {}

  /** The topics {@link DeadLetters} writes to for this service's input bindings ({@code *-in-<n>}). */
  public static List<String> names(Environment environment) {
    String application = environment.getProperty("spring.application.name", "backstop");
    Map<String, Binding> bindings = Binder.get(environment)
        .bind("spring.cloud.stream.bindings", Bindable.mapOf(String.class, Binding.class))
        .orElse(Map.of());
    Set<String> names = new LinkedHashSet<>();
    bindings.forEach((binding, settings) -> {
      if (binding.matches(".*-in-\\d+") && settings.destination() != null) {
        for (String topic : settings.destination().split(",")) {
          names.add(DeadLetters.topicFor(topic.trim(), settings.group(), application));
        }
      }
    });
    return List.copyOf(names);
  }

  /** Their definitions: as many partitions as Backstop's topics, and no deletion. */
  public static List<NewTopic> definitions(Environment environment, int partitions, short replicationFactor) {
    return names(environment).stream()
        .map(name -> new NewTopic(name, partitions, replicationFactor).configs(KEEP_FOREVER))
        .toList();
  }
}
