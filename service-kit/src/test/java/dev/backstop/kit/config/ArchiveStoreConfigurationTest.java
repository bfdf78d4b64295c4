package dev.backstop.kit.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

import com.mongodb.client.MongoClient;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.archive.InProcessS3;
import dev.backstop.kit.archive.S3ArchiveStore;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.ConfigDataApplicationContextInitializer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import software.amazon.awssdk.services.s3.S3Client;

/** Which archive store {@code backstop.archive.*} selects, and how a bad setting stops start-up. */
class ArchiveStoreConfigurationTest {

  @TempDir static Path s3Root;
  @TempDir Path archives;
  static InProcessS3 s3;
  static S3Client raw;

  /** Every service's context has these; the archive stores do not use them. */
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(BackstopKitAutoConfiguration.class))
      .withBean(StreamBridge.class, () -> mock(StreamBridge.class))
      .withBean(MongoClient.class, () -> mock(MongoClient.class));

  @BeforeAll
  static void startS3() throws Exception {
    s3 = InProcessS3.start(s3Root);
    raw = s3.client();
  }

  @AfterAll
  static void stopS3() throws Exception {
    raw.close();
    s3.close();
  }

  @Test
  void filesystemByDefault() {
    runner.withPropertyValues("backstop.archive.directory=" + archives).run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context.getBean(ArchiveStore.class)).isInstanceOf(FilesystemArchiveStore.class);
    });
  }

  @Test
  void s3WhenTheTypeSaysSoAndTheBucketIsCreated() {
    runner.withPropertyValues("backstop.archive.type=s3",
            "backstop.archive.s3.endpoint=" + s3.endpoint(),
            "backstop.archive.s3.bucket=created-at-start",
            "backstop.archive.s3.prefix=backstop/",
            "backstop.archive.s3.path-style=true",
            "backstop.archive.s3.access-key=" + InProcessS3.ACCESS_KEY,
            "backstop.archive.s3.secret-key=" + InProcessS3.SECRET_KEY)
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(ArchiveStore.class)).isInstanceOf(S3ArchiveStore.class);
          assertThat(raw.listBuckets().buckets()).anyMatch(b -> b.name().equals("created-at-start"));
          ArchiveStore store = context.getBean(ArchiveStore.class);
          assertThat(store.exists("a/b/c")).isFalse();
        });
  }

  @Test
  void anUnknownTypeStopsStartUpOnTheSetting() {
    assertThat(startUpFailure(runner.withUserConfiguration(NeedsAStore.class).withPropertyValues("backstop.archive.type=tape")))
        .contains("backstop.archive.type")
        .contains("must be filesystem or s3");
  }

  @Test
  void s3WithoutABucketStopsStartUp() {
    assertThat(startUpFailure(runner.withUserConfiguration(NeedsAStore.class)
        .withPropertyValues("backstop.archive.type=s3", "backstop.archive.s3.endpoint=" + s3.endpoint())))
        .contains("backstop.archive.s3.bucket must be set when backstop.archive.type is s3");
  }

  @Test
  void onlyOneOfAccessKeyAndSecretKeyStopsStartUp() {
    assertThat(startUpFailure(s3Store("backstop.archive.s3.access-key=only-this")))
        .contains("must be set together")
        .doesNotContain("only-this");
  }

  @Test
  void aPartSmallerThanS3AcceptsStopsStartUp() {
    assertThat(startUpFailure(s3Store("backstop.archive.s3.part-size=4MB")))
        .contains("backstop.archive.s3.part-size must be at least 5MB");
  }

  @Test
  void withNoEnvironmentVariablesTheSharedYamlKeepsTheFilesystemStore() {
    runner.withInitializer(new ConfigDataApplicationContextInitializer())
        .withPropertyValues("spring.config.import=classpath:backstop-kafka.yml", "backstop.archive.directory=" + archives)
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(ArchiveStore.class)).isInstanceOf(FilesystemArchiveStore.class);
          var s3Settings = context.getBean(BackstopProperties.class).archive().s3();
          assertThat(s3Settings.endpoint()).isNull();
          assertThat(s3Settings.region()).isEqualTo("us-east-1");
          assertThat(s3Settings.pathStyle()).isFalse();
          assertThat(s3Settings.hasStaticCredentials()).isFalse();
        });
  }

  @Test
  void theSharedYamlMapsTheComposeEnvironmentVariables() {
    // a stand-in for the process environment: relaxed binding (BACKSTOP_ARCHIVE_TYPE) reads only that source
    runner.withInitializer(environment(Map.of("BACKSTOP_ARCHIVE_TYPE", "s3",
            "BACKSTOP_S3_ENDPOINT", s3.endpoint().toString(),
            "BACKSTOP_S3_BUCKET", "from-env",
            "BACKSTOP_S3_REGION", "eu-west-1",
            "BACKSTOP_S3_PATH_STYLE", "true",
            "BACKSTOP_S3_ACCESS_KEY", InProcessS3.ACCESS_KEY,
            "BACKSTOP_S3_SECRET_KEY", InProcessS3.SECRET_KEY)))
        .withInitializer(new ConfigDataApplicationContextInitializer())
        .withPropertyValues("spring.config.import=classpath:backstop-kafka.yml")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(ArchiveStore.class)).isInstanceOf(S3ArchiveStore.class);
          var s3Settings = context.getBean(BackstopProperties.class).archive().s3();
          assertThat(s3Settings.endpoint()).isEqualTo(URI.create(s3.endpoint().toString()));
          assertThat(s3Settings.bucket()).isEqualTo("from-env");
          assertThat(s3Settings.region()).isEqualTo("eu-west-1");
          assertThat(s3Settings.pathStyle()).isTrue();
          assertThat(s3Settings.accessKey()).isEqualTo(InProcessS3.ACCESS_KEY);
          assertThat(s3Settings.toString()).doesNotContain(InProcessS3.SECRET_KEY);
          assertThat(raw.listBuckets().buckets()).anyMatch(b -> b.name().equals("from-env"));
        });
  }

  /** Puts {@code variables} into the context's system environment, as if the process had been started with them. */
  private static ApplicationContextInitializer<ConfigurableApplicationContext> environment(Map<String, String> variables) {
    return context -> {
      Map<String, Object> merged = new HashMap<>(System.getenv());
      merged.putAll(variables);
      context.getEnvironment().getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
          new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, merged));
    };
  }

  /** An S3 store on the test's s3proxy, bucket {@code b}, with {@code more} settings. */
  private ApplicationContextRunner s3Store(String... more) {
    return runner.withPropertyValues("backstop.archive.type=s3", "backstop.archive.s3.bucket=b",
        "backstop.archive.s3.endpoint=" + s3.endpoint()).withPropertyValues(more);
  }

  /** The messages of what stopped {@code configured} from starting; the test fails if it started. */
  private static String startUpFailure(ApplicationContextRunner configured) {
    var messages = new java.util.concurrent.atomic.AtomicReference<String>();
    configured.run(context -> {
      assertThat(context).hasFailed();
      messages.set(rootMessages(context.getStartupFailure()));
    });
    return messages.get();
  }

  private static String rootMessages(Throwable failure) {
    StringBuilder messages = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      messages.append(t.getMessage()).append('\n');
    }
    return messages.toString();
  }

  /** Like a service's controller: created before the auto-configured beans, it asks for a store first. */
  @Configuration(proxyBeanMethods = false)
  static class NeedsAStore {
    @Bean
    Object storeUser(ArchiveStore store) {
      return store;
    }
  }
}
