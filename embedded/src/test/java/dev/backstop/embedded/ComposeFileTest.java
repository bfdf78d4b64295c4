package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.gateway.config.GatewayProperties;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.config.WorkerProperties;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.bind.validation.ValidationBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ClassPathResource;
import org.springframework.validation.beanvalidation.SpringValidatorAdapter;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * docker-compose.yml, checked without a Docker engine (none runs here): its structure as Compose reads
 * it, images pinned to reviewed releases, every {@code ${VAR}} it takes from {@code .env} present in
 * {@code .env.example}, and each Backstop service's environment bound to the service's own settings
 * exactly as the service binds them at start-up (its yml, placeholders resolved, records validated), so
 * a required setting missing or a misspelt variable fails here rather than in a container.
 *
 * <p>Whether an image tag exists can only be asked of a registry, which the suite does not reach: the
 * tags are checked against the list below, each reviewed by hand, and those that follow a library the
 * build uses (Kafka, s3proxy) against that library's version in the pom.
 */
class ComposeFileTest {

  private static final Path ROOT = Path.of("..");

  /**
   * The images compose and the Dockerfile may name, with why each is pinned where it is. A new image or
   * tag goes here on purpose, after checking the registry serves it.
   */
  private static final Map<String, String> REVIEWED_IMAGES = Map.of(
      "apache/kafka", "Apache Kafka's own image (Docker Hub), the broker release of kafka.version in the pom",
      "mongo", "Docker Official Image, MongoDB 8.0",
      "andrewgaul/s3proxy", "s3proxy's own image (Docker Hub, tagged s3proxy-<version> per release), the s3proxy.version the tests run in-process",
      "postgres", "Docker Official Image, PostgreSQL 15: the major the suite's own servers run",
      "mariadb", "Docker Official Image, MariaDB 10.11 LTS: the series the suite's own servers run",
      "eclipse-temurin", "Adoptium's Docker Official Image, JDK/JRE 21 on Ubuntu noble (the worker's database clients come from noble)",
      "prom/prometheus", "Prometheus's own image (Docker Hub), tagged v<version> per release: scrapes the services' /actuator/prometheus",
      "grafana/grafana", "Grafana's own image (Docker Hub), tagged <version> per release: the provisioned on-call dashboard");

  /** A release tag: a version of at least major.minor, never a moving name such as {@code latest} or {@code 15}. */
  private static final Pattern RELEASE_TAG = Pattern.compile("(?:[a-z0-9]+-|v)?\\d+\\.\\d+(?:[.\\d_]*)(?:-[a-z0-9]+)*");

  /** {@code ${VAR}}, {@code ${VAR:?message}}, {@code ${VAR:-default}}, {@code ${VAR-default}} … as Compose interpolates. */
  private static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?}");

  /** The Backstop services compose runs, by the module their image is built from, with each module's own yml. */
  private static final Map<String, String> MODULE_YMLS = Map.of(
      "api-gateway", "api-gateway.yml", "scheduler-service", "scheduler-service.yml", "dump-worker", "dump-worker.yml",
      "retention-service", "retention-service.yml", "wal-archiver", "wal-archiver.yml", "notifier", "notifier.yml");

  /** Spring Boot's own settings compose gives every service: JSON logs for a log shipper (docs/monitoring.md). */
  private static final Set<String> SPRING_BOOT_VARIABLES = Set.of("LOGGING_STRUCTURED_FORMAT_CONSOLE");

  private static String text;
  private static Map<String, Object> compose;
  private static Map<String, String> envExample;
  private static jakarta.validation.ValidatorFactory validation;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void read() throws IOException {
    text = Files.readString(ROOT.resolve("docker-compose.yml"));
    // SafeConstructor resolves anchors and `<<` merge keys as Compose does
    compose = (Map<String, Object>) new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    envExample = new LinkedHashMap<>();
    for (String line : Files.readAllLines(ROOT.resolve(".env.example"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        envExample.put(line.substring(0, line.indexOf('=')).trim(), line.substring(line.indexOf('=') + 1));
      }
    }
    validation = Validation.buildDefaultValidatorFactory();
  }

  @AfterAll
  static void close() {
    validation.close();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> services() {
    return (Map<String, Map<String, Object>>) compose.get("services");
  }

  @SuppressWarnings("unchecked")
  private static <T> T get(Map<String, Object> map, String key) {
    return (T) map.get(key);
  }

  @Test
  void every_service_has_an_image_or_a_build_and_depends_only_on_services_that_exist() {
    assertThat(services()).isNotEmpty();
    services().forEach((name, service) -> {
      assertThat(service.containsKey("image") || service.containsKey("build")).as("%s has an image or a build", name).isTrue();
      Object dependsOn = service.get("depends_on");
      Iterable<String> dependencies = dependsOn == null ? List.of()
          : dependsOn instanceof Map<?, ?> map ? (Set<String>) map.keySet().stream().map(String::valueOf).collect(java.util.stream.Collectors.toSet())
          : ((List<?>) dependsOn).stream().map(String::valueOf).toList();
      for (String dependency : dependencies) {
        assertThat(services()).as("%s depends on %s", name, dependency).containsKey(dependency);
        if (dependsOn instanceof Map<?, ?> map && map.get(dependency) instanceof Map<?, ?> condition
            && "service_healthy".equals(condition.get("condition"))) {
          assertThat(services().get(dependency)).as("%s waits for %s to be healthy: it needs a healthcheck", name, dependency)
              .containsKey("healthcheck");
        }
      }
      Map<String, Object> build = get(service, "build");
      if (build != null) {
        Path context = ROOT.resolve(String.valueOf(build.get("context")));
        assertThat(context.resolve(String.valueOf(build.getOrDefault("dockerfile", "Dockerfile")))).as("%s's Dockerfile", name).isRegularFile();
      }
    });
  }

  @Test
  void named_volumes_are_declared_and_mounted_files_exist() {
    Map<String, Object> declared = compose.get("volumes") == null ? Map.of() : get(compose, "volumes");
    Set<String> used = new TreeSet<>();
    services().forEach((name, service) -> {
      List<Object> volumes = service.get("volumes") == null ? List.of() : get(service, "volumes");
      for (Object volume : volumes) {
        String source = volume instanceof Map<?, ?> long_ ? String.valueOf(long_.get("source")) : String.valueOf(volume).split(":")[0];
        if (source.startsWith(".") || source.startsWith("/")) {
          assertThat(ROOT.resolve(source)).as("%s mounts %s", name, source).exists();
        } else {
          assertThat(declared).as("%s uses the named volume %s", name, source).containsKey(source);
          used.add(source);
        }
      }
    });
    assertThat(used).as("every declared volume is used").containsExactlyInAnyOrderElementsOf(declared.keySet());
  }

  @Test
  void every_image_is_pinned_to_a_reviewed_release() throws IOException {
    List<String> images = new ArrayList<>();
    services().values().stream().filter(s -> s.containsKey("image")).forEach(s -> images.add(String.valueOf(s.get("image"))));
    Matcher from = Pattern.compile("(?m)^FROM\\s+(\\S+)").matcher(Files.readString(ROOT.resolve("docker/Dockerfile")));
    while (from.find()) {
      images.add(from.group(1));
    }
    assertThat(images).isNotEmpty().allSatisfy(image -> {
      assertThat(image).as("%s names a tag", image).contains(":").doesNotContain("@");
      String repository = image.substring(0, image.lastIndexOf(':'));
      String tag = image.substring(image.lastIndexOf(':') + 1);
      assertThat(tag).as("%s is pinned to a release, not a moving tag", image).matches(RELEASE_TAG).isNotEqualTo("latest");
      assertThat(REVIEWED_IMAGES).as("%s is one of the reviewed images", repository).containsKey(repository);
    });

    String pom = Files.readString(ROOT.resolve("pom.xml"));
    assertThat(images).contains("apache/kafka:" + pomProperty(pom, "kafka.version"))
        .contains("andrewgaul/s3proxy:s3proxy-" + pomProperty(pom, "s3proxy.version"));
    assertThat(images).filteredOn(i -> i.startsWith("postgres:")).allMatch(i -> i.startsWith("postgres:15."));
    assertThat(images).filteredOn(i -> i.startsWith("mariadb:")).allMatch(i -> i.startsWith("mariadb:10.11."));
  }

  private static String pomProperty(String pom, String name) {
    Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(pom);
    assertThat(m.find()).as("%s in the pom", name).isTrue();
    return m.group(1);
  }

  @Test
  void every_variable_compose_takes_from_env_is_in_env_example_and_every_one_there_is_used() {
    Set<String> fromEnv = new TreeSet<>();
    Matcher m = INTERPOLATION.matcher(text.replace("$$", ""));
    while (m.find()) {
      boolean hasDefault = m.group(2) != null && m.group(2).contains("-");
      if (!hasDefault) {
        fromEnv.add(m.group(1));
      }
    }
    assertThat(fromEnv).isNotEmpty();
    assertThat(envExample.keySet()).as(".env.example").containsAll(fromEnv);
    assertThat(fromEnv).as("variables of .env.example compose uses").containsAll(envExample.keySet());
    assertThat(envExample).as("secrets are never filled in .env.example").containsEntry("BACKSTOP_SECRETS_KEY", "")
        .containsEntry("BACKSTOP_OPERATOR_TOKEN", "");
  }

  /** A service's environment as Compose hands it over, each {@code ${VAR}} from an .env filled in as the README says. */
  private static Map<String, Object> environment(Map<String, Object> service) {
    Map<String, Object> environment = new LinkedHashMap<>();
    Map<String, Object> declared = service.get("environment") == null ? Map.of() : get(service, "environment");
    declared.forEach((key, value) -> {
      Matcher m = INTERPOLATION.matcher(String.valueOf(value));
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(out, Matcher.quoteReplacement(filledIn(m.group(1))));
      }
      m.appendTail(out);
      environment.put(key, out.toString());
    });
    return environment;
  }

  /** What a user writes into .env for a variable: the example's value, else a fresh secret (openssl rand -base64 32). */
  private static String filledIn(String variable) {
    String example = envExample.getOrDefault(variable, "");
    byte[] secret = new byte[32];
    java.util.Arrays.fill(secret, (byte) variable.length());
    return example.isEmpty() ? Base64.getEncoder().encodeToString(secret) : example;
  }

  private static Map<String, Map<String, Object>> backstopServices() {
    Map<String, Map<String, Object>> found = new LinkedHashMap<>();
    services().forEach((name, service) -> {
      Map<String, Object> build = get(service, "build");
      if (build != null && build.get("args") instanceof Map<?, ?> args && args.get("MODULE") != null) {
        found.put(String.valueOf(args.get("MODULE")), service);
      }
    });
    return found;
  }

  @Test
  void compose_runs_every_backstop_service_on_its_own_port() {
    assertThat(backstopServices()).containsOnlyKeys(MODULE_YMLS.keySet());
    backstopServices().forEach((module, service) -> {
      Map<String, Object> args = get(get(service, "build"), "args");
      assertThat(String.valueOf(get(service, "healthcheck").toString())).as("%s's healthcheck asks its own port", module)
          .contains("localhost:" + args.get("PORT") + "/actuator/health");
    });
  }

  @Test
  void every_variable_compose_sets_on_a_backstop_service_is_one_the_services_read() throws Exception {
    Set<String> read = new TreeSet<>(ConfigurationTableTest.documented());
    read.addAll(ConfigurationTableTest.placeholders());
    read.addAll(ConfigurationTableTest.relaxedNames());
    read.addAll(SPRING_BOOT_VARIABLES);
    backstopServices().forEach((module, service) -> assertThat(environment(service).keySet())
        .as("variables compose gives %s", module).allSatisfy(variable -> assertThat(read).contains(variable)));
  }

  /** Binds a settings class from a service's compose environment and its yml, as the service does at start-up. */
  private static <T> T bind(String module, Map<String, Object> environment, String prefix, Class<T> type) throws IOException {
    return binder(module, environment).bindOrCreate(prefix, Bindable.of(type), validating());
  }

  private static Binder binder(String module, Map<String, Object> environment) throws IOException {
    MutablePropertySources sources = new MutablePropertySources();
    // named as Spring names the process environment, so that relaxed binding (BACKSTOP_WORKER_X) applies
    sources.addLast(new SystemEnvironmentPropertySource(
        org.springframework.core.env.StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, environment));
    var loader = new YamlPropertySourceLoader();
    for (String yml : List.of(MODULE_YMLS.get(module), "backstop-kafka.yml")) {
      loader.load(yml, new ClassPathResource(yml)).forEach(sources::addLast);
    }
    return new Binder(ConfigurationPropertySources.from(sources), new PropertySourcesPlaceholdersResolver(sources));
  }

  private static BindHandler validating() {
    Validator validator = validation.getValidator();
    return new ValidationBindHandler(new SpringValidatorAdapter(validator));
  }

  private static String resolved(String module, Map<String, Object> environment, String property) throws IOException {
    return binder(module, environment).bind(property, String.class).orElse(null);
  }

  @Test
  void each_backstop_service_starts_with_the_settings_compose_gives_it() throws Exception {
    for (var entry : backstopServices().entrySet()) {
      String module = entry.getKey();
      Map<String, Object> environment = environment(entry.getValue());

      // the servers are the compose services, never the localhost defaults of a developer's machine
      assertThat(resolved(module, environment, "spring.kafka.bootstrap-servers")).as(module).isEqualTo("kafka:9092");
      assertThat(resolved(module, environment, "spring.mongodb.uri")).as(module).startsWith("mongodb://mongo:");
      BackstopProperties backstop = bind(module, environment, "backstop", BackstopProperties.class);
      assertThat(backstop.archive().type()).as(module).isEqualTo("s3");
      assertThat(backstop.archive().s3().endpoint()).as(module).hasHost("s3");
      assertThat(backstop.archive().s3().bucket()).as(module).isNotBlank();
      assertThat(backstop.archive().s3().hasStaticCredentials()).as("%s has Backstop's own S3 key", module).isTrue();
      if (!module.equals("scheduler-service") && !module.equals("retention-service")) {
        // they seal or open database passwords and archives: no key, no start (SecretSealer.fromBase64)
        assertThat(backstop.secrets().key()).as("%s's BACKSTOP_SECRETS_KEY", module).isNotBlank();
        assertThat(Base64.getDecoder().decode(backstop.secrets().key())).as(module).hasSize(32);
      }
      switch (module) {
        case "api-gateway" -> assertThat(bind(module, environment, "backstop.gateway", GatewayProperties.class).operatorToken())
            .isNotBlank();
        case "dump-worker" -> {
          bind(module, environment, "backstop.worker", WorkerProperties.class);
          VerifierProperties verifier = bind(module, environment, "backstop.verifier", VerifierProperties.class);
          assertThat(verifier.postgresql().host()).isEqualTo("scratch-postgres");
          assertThat(verifier.mysql().host()).isEqualTo("scratch-mariadb");
          assertThat(verifier.postgresql().password()).isNotBlank();
          assertThat(verifier.mysql().password()).isNotBlank();
          assertThat(verifier.allowSharedServer()).as("compose's scratch servers are Backstop's own").isFalse();
          Map<String, Object> dependsOn = get(entry.getValue(), "depends_on");
          assertThat(dependsOn.keySet())
              .contains("scratch-postgres", "scratch-mariadb", "pg-replica", "mariadb");
        }
        default -> { }
      }
    }
  }

  @Test
  void the_services_s3_key_is_the_identity_the_s3_server_accepts() throws Exception {
    Map<String, Object> s3 = environment(services().get("s3"));
    backstopServices().forEach((module, service) -> {
      Map<String, Object> environment = environment(service);
      assertThat(environment.get("BACKSTOP_S3_ACCESS_KEY")).as(module).isEqualTo(s3.get("S3PROXY_IDENTITY"));
      assertThat(environment.get("BACKSTOP_S3_SECRET_KEY")).as(module).isEqualTo(s3.get("S3PROXY_CREDENTIAL"));
    });
    assertThat(text).contains("BACKSTOP_S3_ENDPOINT: http://s3:80").contains("S3PROXY_ENDPOINT: http://0.0.0.0:80");
  }

  @Test
  void no_secret_is_written_into_the_compose_file() {
    services().forEach((name, service) -> environment(service).forEach((key, value) -> {
      if (key.matches(".*(PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL).*") && !key.equals("BACKSTOP_S3_ACCESS_KEY")
          && !key.equals("S3PROXY_IDENTITY")) {
        Object raw = ((Map<?, ?>) service.get("environment")).get(key);
        assertThat(String.valueOf(raw)).as("%s's %s comes from .env", name, key).startsWith("${");
      }
    }));
  }
}
