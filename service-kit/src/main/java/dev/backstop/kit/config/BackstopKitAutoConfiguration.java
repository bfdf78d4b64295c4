package dev.backstop.kit.config;

import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.AvroTrust;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoDatabase;
import java.time.Clock;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.core.KafkaAdmin;

/** What every Backstop service gets by depending on service-kit. */
@AutoConfiguration
@EnableConfigurationProperties(BackstopProperties.class)
public class BackstopKitAutoConfiguration {

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
        Topics.definitions(properties.getKafka().getPartitions(), properties.getKafka().getReplicationFactor())
            .toArray(org.apache.kafka.clients.admin.NewTopic[]::new));
  }

  /** This service's own database; services never read each other's. */
  @Bean
  @ConditionalOnMissingBean
  public MongoDatabase backstopDatabase(MongoClient client, BackstopProperties properties) {
    return client.getDatabase(properties.getMongodb().getDatabase());
  }

  @Bean
  public EventPublisher eventPublisher(StreamBridge bridge) {
    return new EventPublisher(bridge);
  }

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "backstop.archive", name = "type", havingValue = "filesystem", matchIfMissing = true)
  public ArchiveStore filesystemArchiveStore(BackstopProperties properties) {
    return new FilesystemArchiveStore(properties.getArchive().getDirectory());
  }

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(prefix = "backstop.secrets", name = "key")
  public SecretSealer secretSealer(BackstopProperties properties) {
    return SecretSealer.fromBase64(properties.getSecrets().getKey());
  }
}
