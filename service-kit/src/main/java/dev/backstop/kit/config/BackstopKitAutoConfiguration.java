package dev.backstop.kit.config;

import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.archive.S3ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.AvroTrust;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoDatabase;
import java.io.IOException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.core.KafkaAdmin;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/** What every Backstop service gets by depending on service-kit. */
@AutoConfiguration(beforeName = "org.springframework.boot.mongodb.autoconfigure.health.MongoHealthContributorAutoConfiguration")
@EnableConfigurationProperties({BackstopProperties.class, dev.backstop.kit.webhook.WebhookUrlProperties.class})
public class BackstopKitAutoConfiguration {

  private static final Logger log = LoggerFactory.getLogger(BackstopKitAutoConfiguration.class);

  public BackstopKitAutoConfiguration() {
    AvroTrust.ensure();
  }

  /** Domain code takes time from this bean only; tests replace it. */
  @Bean
  @ConditionalOnMissingBean
  public Clock clock() {
    return Clock.systemUTC();
  }

  /** Declares Backstop's topics with unlimited retention: they are the record a replay rebuilds from. */
  @Bean
  public KafkaAdmin.NewTopics backstopTopics(BackstopProperties properties) {
    return new KafkaAdmin.NewTopics(
        Topics.definitions(properties.kafka().partitions(), properties.kafka().replicationFactor())
            .toArray(org.apache.kafka.clients.admin.NewTopic[]::new));
  }

  /**
   * The dead-letter topic of every consumer group this service's bindings name ({@code error.<topic>.<group>}),
   * declared like the topics themselves: they keep everything until an operator has looked at it.
   */
  @Bean
  public KafkaAdmin.NewTopics backstopDeadLetterTopics(BackstopProperties properties, org.springframework.core.env.Environment environment) {
    return new KafkaAdmin.NewTopics(dev.backstop.kit.messaging.DeadLetterTopics
        .definitions(environment, properties.kafka().partitions(), properties.kafka().replicationFactor())
        .toArray(org.apache.kafka.clients.admin.NewTopic[]::new));
  }

  /** Dead letters of this service's consumers, published with the binder's brokers and the event serializer. */
  @Bean
  @ConditionalOnMissingBean
  public dev.backstop.kit.messaging.DeadLetters deadLetters(org.springframework.core.env.Environment environment,
      org.springframework.beans.factory.ObjectProvider<io.micrometer.core.instrument.MeterRegistry> registry) {
    // a context without Boot's metrics (a test of this configuration alone) counts in memory
    io.micrometer.core.instrument.MeterRegistry meters =
        registry.getIfAvailable(io.micrometer.core.instrument.simple.SimpleMeterRegistry::new);
    @SuppressWarnings({"unchecked", "rawtypes"})
    org.apache.kafka.common.serialization.Serializer<Object> keys = (org.apache.kafka.common.serialization.Serializer)
        new org.apache.kafka.common.serialization.StringSerializer();
    // an undecodable record goes as the bytes read, a record whose handling failed as its event
    org.apache.kafka.common.serialization.Serializer<Object> values =
        new org.springframework.kafka.support.serializer.DelegatingByTypeSerializer(java.util.Map.of(
            byte[].class, new org.apache.kafka.common.serialization.ByteArraySerializer(),
            org.apache.avro.specific.SpecificRecord.class, new dev.backstop.schemas.serde.EventSerializer()), true);
    var producers = new org.springframework.kafka.core.DefaultKafkaProducerFactory<Object, Object>(java.util.Map.<String, Object>of(
        org.apache.kafka.clients.producer.ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers(environment),
        org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all",
        org.apache.kafka.clients.producer.ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG,
        environment.getProperty("spring.application.name", "backstop") + "-dead-letters"),
        keys, values);
    return new dev.backstop.kit.messaging.DeadLetters(new org.springframework.kafka.core.KafkaTemplate<>(producers), meters,
        environment.getProperty("spring.application.name", "backstop"));
  }

  /** The error handling of every consumer binding: dead letters for poison, patience for the rest. */
  @Bean
  @org.springframework.context.annotation.Primary
  public dev.backstop.kit.messaging.DeadLetterHandling deadLetterHandling(dev.backstop.kit.messaging.DeadLetters deadLetters,
      org.springframework.beans.factory.ObjectProvider<org.springframework.cloud.stream.config.ListenerContainerCustomizer<?>> others) {
    return new dev.backstop.kit.messaging.DeadLetterHandling(deadLetters, others);
  }

  private static String brokers(org.springframework.core.env.Environment environment) {
    return environment.getProperty("spring.cloud.stream.kafka.binder.brokers",
        environment.getProperty("spring.kafka.bootstrap-servers", "localhost:9092"));
  }

  /**
   * MongoDB health by {@code ping}, which real MongoDB and the in-process store both answer (Boot's own
   * indicator sends {@code hello}, which the in-process store does not know, and would report DOWN).
   */
  @Bean(name = "mongoHealthContributor")
  public org.springframework.boot.health.contributor.HealthIndicator mongoHealthContributor(MongoClient client, BackstopProperties properties) {
    return () -> {
      try {
        MongoDatabase database = client.getDatabase(properties.mongodb().database());
        database.runCommand(new org.bson.Document("ping", 1));
        return org.springframework.boot.health.contributor.Health.up().withDetail("database", database.getName()).build();
      } catch (RuntimeException e) {
        return org.springframework.boot.health.contributor.Health.down(e).build();
      }
    };
  }

  /** Whether the broker answers; in the readiness group (backstop-kafka.yml). */
  @Bean(name = "kafkaHealthIndicator")
  public dev.backstop.kit.health.KafkaHealth kafkaHealthIndicator(org.springframework.core.env.Environment environment) {
    return new dev.backstop.kit.health.KafkaHealth(brokers(environment));
  }

  /** Whether the archive store answers; in the readiness group of the services that write or read archives. */
  @Bean(name = "archiveStoreHealthIndicator")
  public dev.backstop.kit.health.ArchiveStoreHealth archiveStoreHealthIndicator(ArchiveStore store) {
    return new dev.backstop.kit.health.ArchiveStoreHealth(store);
  }

  /** This service's own database; services never read each other's. */
  @Bean
  @ConditionalOnMissingBean
  public MongoDatabase backstopDatabase(MongoClient client, BackstopProperties properties) {
    return client.getDatabase(properties.mongodb().database());
  }

  @Bean
  public EventPublisher eventPublisher(StreamBridge bridge, org.springframework.core.env.Environment environment) {
    return new EventPublisher(bridge, () -> brokers(environment));
  }

  /**
   * Archives in an S3 bucket ({@code backstop.archive.type=s3}), created at start-up if missing so a fresh MinIO
   * needs no setup. Start-up fails when the bucket can be neither found nor created.
   */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "backstop.archive", name = "type", havingValue = "s3")
  public ArchiveStore s3ArchiveStore(BackstopProperties properties) throws IOException {
    BackstopProperties.S3 s3 = properties.archive().s3();
    S3ArchiveStore store = new S3ArchiveStore(s3Client(s3), s3.bucket(), s3.prefix(), s3.multipartThreshold().toBytes(),
        s3.partSize().toBytes());
    try {
      store.createBucketIfMissing();
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
    log.info("archives in {} ({})", store, s3);
    return store;
  }

  /**
   * Archives under {@code backstop.archive.directory}: the default, when no other store is configured. It is
   * declared after the S3 store so that its missing-bean condition sees that one. With an unknown
   * {@code backstop.archive.type} it is this bean that binds {@link BackstopProperties} first, so start-up
   * fails on the type's validation rather than for want of an {@link ArchiveStore}.
   */
  @Bean
  @ConditionalOnMissingBean
  public ArchiveStore filesystemArchiveStore(BackstopProperties properties) {
    return new FilesystemArchiveStore(properties.archive().directory());
  }

  private static S3Client s3Client(BackstopProperties.S3 s3) {
    S3ClientBuilder builder = S3Client.builder()
        .region(Region.of(s3.region()))
        .forcePathStyle(s3.pathStyle())
        .credentialsProvider(s3.hasStaticCredentials()
            ? StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey()))
            : DefaultCredentialsProvider.builder().build());
    if (s3.endpoint() != null) {
      builder.endpointOverride(s3.endpoint());
    }
    return builder.build();
  }

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "backstop.secrets", name = "key")
  public SecretSealer secretSealer(BackstopProperties properties) {
    return SecretSealer.fromBase64(properties.secrets().key());
  }

  /** Encryption of archives at rest, keyed by the same configured secret (a key derived from it). */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "backstop.secrets", name = "key")
  public dev.backstop.kit.archive.ArchiveCipher archiveCipher(ArchiveStore store, BackstopProperties properties) {
    return new dev.backstop.kit.archive.ArchiveCipher(store, java.util.Base64.getDecoder().decode(properties.secrets().key()));
  }

  /** The one way services read an archive back (decrypting it when it was stored encrypted). */
  @Bean
  @ConditionalOnMissingBean
  public dev.backstop.kit.archive.ArchiveReader archiveReader(ArchiveStore store,
      org.springframework.beans.factory.ObjectProvider<dev.backstop.kit.archive.ArchiveCipher> cipher) {
    return new dev.backstop.kit.archive.ArchiveReader(store, cipher.getIfAvailable());
  }
}
