package dev.backstop.kit.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The defaults of {@code backstop.*}, written once on the records, and how the yml's empty fallbacks bind. */
class BackstopPropertiesTest {

  @Test
  void nothing_set_binds_every_default() {
    BackstopProperties properties = BackstopProperties.bind(Map.of());

    assertThat(properties.kafka().partitions()).isEqualTo(3);
    assertThat(properties.kafka().replicationFactor()).isEqualTo((short) 1);
    assertThat(properties.archive().type()).isEqualTo("filesystem");
    assertThat(properties.archive().directory()).isEqualTo(Path.of("archives"));
    assertThat(properties.archive().encrypt()).isTrue();
    assertThat(properties.archive().s3().region()).isEqualTo("us-east-1");
    assertThat(properties.archive().s3().prefix()).isEmpty();
    assertThat(properties.archive().s3().pathStyle()).isFalse();
    assertThat(properties.archive().s3().multipartThreshold()).isEqualTo(org.springframework.util.unit.DataSize.ofMegabytes(64));
    assertThat(properties.archive().s3().partSize()).isEqualTo(org.springframework.util.unit.DataSize.ofMegabytes(32));
    assertThat(properties.secrets().key()).isNull();
    assertThat(properties.mongodb().database()).isEqualTo("backstop");
  }

  @Test
  void an_unset_variable_behind_an_empty_yml_fallback_keeps_the_default() {
    BackstopProperties properties = BackstopProperties.bind(Map.of("archive.directory", "",
        "archive.s3.region", "", "archive.s3.path-style", "", "archive.s3.prefix", "", "archive.s3.endpoint", ""));

    assertThat(properties.archive().directory()).isEqualTo(Path.of("archives"));
    assertThat(properties.archive().s3().region()).isEqualTo("us-east-1");
    assertThat(properties.archive().s3().pathStyle()).isFalse();
    assertThat(properties.archive().s3().prefix()).isEmpty();
    assertThat(properties.archive().s3().endpoint()).isNull();
  }

  @Test
  void given_settings_replace_the_defaults() {
    BackstopProperties properties = BackstopProperties.bind(Map.of("kafka.partitions", "6",
        "archive.encrypt", false, "archive.directory", "/srv/archives", "mongodb.database", "backstop-gateway",
        "archive.s3.part-size", "8MB", "archive.s3.multipart-threshold", "16MB"));

    assertThat(properties.kafka().partitions()).isEqualTo(6);
    assertThat(properties.archive().encrypt()).isFalse();
    assertThat(properties.archive().directory()).isEqualTo(Path.of("/srv/archives"));
    assertThat(properties.mongodb().database()).isEqualTo("backstop-gateway");
    assertThat(properties.archive().s3().partSize().toMegabytes()).isEqualTo(8);
    assertThat(properties.archive().s3().multipartThreshold().toMegabytes()).isEqualTo(16);
  }

  @Test
  void the_secret_key_stays_out_of_the_text_form() {
    BackstopProperties properties = BackstopProperties.bind(Map.of("secrets.key", "c2VjcmV0LWtleS1tYXRlcmlhbA==",
        "archive.s3.secret-key", "s3-secret", "archive.s3.access-key", "s3-access"));

    assertThat(properties.toString()).doesNotContain("c2VjcmV0LWtleS1tYXRlcmlhbA==").doesNotContain("s3-secret");
  }
}
