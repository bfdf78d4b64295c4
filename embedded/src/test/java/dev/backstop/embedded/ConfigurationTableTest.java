package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.beans.Introspector;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.type.filter.AnnotationTypeFilter;

/**
 * The README's "Running the services separately" table against what the services really read: every
 * variable it documents reaches a real setting (through a {@code ${VAR}} placeholder in a service's
 * yml, or Spring's relaxed binding of a {@code @ConfigurationProperties} property), and every
 * {@code BACKSTOP_*} variable a yml names is documented. Runs here because this module sees every
 * service's settings.
 */
class ConfigurationTableTest {

  private static final List<String> SERVICE_YMLS =
      List.of("backstop-kafka.yml", "api-gateway.yml", "scheduler-service.yml", "dump-worker.yml", "retention-service.yml",
          "notifier.yml");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)(?::[^}]*)?}");

  /** The variables the README documents; {@code `_PORT`} after {@code `X_HOST`} stands for {@code X_PORT}. */
  static Set<String> documented() throws IOException {
    String readme = Files.readString(Path.of("..", "README.md"));
    int start = readme.indexOf("## Running the services separately");
    String section = readme.substring(start, readme.indexOf("\n## ", start + 1));
    Set<String> names = new TreeSet<>();
    for (String line : section.lines().filter(l -> l.startsWith("| `")).toList()) {
      String first = line.split("\\|")[1];
      String stem = null;
      Matcher m = Pattern.compile("`([A-Z_][A-Z0-9_]*)`").matcher(first);
      while (m.find()) {
        String name = m.group(1);
        if (name.startsWith("_") && stem != null) {
          name = stem + name;
        } else if (name.contains("_")) {
          stem = name.substring(0, name.lastIndexOf('_'));
        }
        names.add(name);
      }
    }
    return names;
  }

  /** The variables named in the services' yml, by {@code ${VAR}} or {@code ${VAR:default}}. */
  static Set<String> placeholders() throws IOException {
    Set<String> names = new TreeSet<>();
    for (String yml : SERVICE_YMLS) {
      try (InputStream in = ConfigurationTableTest.class.getClassLoader().getResourceAsStream(yml)) {
        assertThat(in).as(yml + " on the classpath").isNotNull();
        Matcher m = PLACEHOLDER.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        while (m.find()) {
          names.add(m.group(1));
        }
      }
    }
    return names;
  }

  /** The environment name relaxed binding reads for every property of every Backstop settings class. */
  static Set<String> relaxedNames() throws ClassNotFoundException {
    var scanner = new ClassPathScanningCandidateComponentProvider(false);
    scanner.addIncludeFilter(new AnnotationTypeFilter(ConfigurationProperties.class));
    Set<String> names = new TreeSet<>();
    for (BeanDefinition candidate : scanner.findCandidateComponents("dev.backstop")) {
      Class<?> type = Class.forName(candidate.getBeanClassName());
      ConfigurationProperties annotation = type.getAnnotation(ConfigurationProperties.class);
      String prefix = annotation.prefix().isEmpty() ? annotation.value() : annotation.prefix();
      collect(prefix, type, names, 0);
    }
    return names;
  }

  private static void collect(String path, Class<?> type, Collection<String> names, int depth) {
    for (var property : properties(type)) {
      String name = path + "." + kebab(property.name());
      Class<?> valueType = property.type();
      if (depth < 4 && valueType.getName().startsWith("dev.backstop.") && !valueType.isEnum()) {
        collect(name, valueType, names, depth + 1);
      } else {
        names.add(name.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT));
      }
    }
  }

  private record Property(String name, Class<?> type) {}

  private static List<Property> properties(Class<?> type) {
    List<Property> properties = new ArrayList<>();
    if (type.isRecord()) {
      for (var component : type.getRecordComponents()) {
        properties.add(new Property(component.getName(), component.getType()));
      }
      return properties;
    }
    try {
      for (var descriptor : Introspector.getBeanInfo(type, Object.class).getPropertyDescriptors()) {
        if (descriptor.getReadMethod() != null) {
          properties.add(new Property(descriptor.getName(), descriptor.getPropertyType()));
        }
      }
    } catch (java.beans.IntrospectionException e) {
      throw new IllegalStateException(e);
    }
    return properties;
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  @Test
  void every_documented_variable_reaches_a_real_setting() throws Exception {
    Set<String> read = new TreeSet<>(placeholders());
    read.addAll(relaxedNames());

    assertThat(documented()).isNotEmpty().allSatisfy(variable ->
        assertThat(read).as("%s is documented in the README but no service reads it", variable).contains(variable));
  }

  @Test
  void every_backstop_variable_a_service_names_is_documented() throws Exception {
    Set<String> documented = documented();

    assertThat(placeholders()).filteredOn(name -> name.startsWith("BACKSTOP_")).allSatisfy(variable ->
        assertThat(documented).as("%s is read by a service but missing from the README table", variable).contains(variable));
  }

  @Test
  void settings_classes_are_found_in_every_service() throws Exception {
    Set<String> relaxed = relaxedNames();

    assertThat(relaxed).contains("BACKSTOP_GATEWAY_OPERATOR_TOKEN", "BACKSTOP_SCHEDULER_BATCH_SIZE",
        "BACKSTOP_RETENTION_DOWNLOAD_GRACE", "BACKSTOP_KAFKA_PARTITIONS", "BACKSTOP_ARCHIVE_S3_BUCKET",
        "BACKSTOP_NOTIFIER_RETRY_DELAYS", "BACKSTOP_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES");
  }
}
