package dev.backstop.kit.health;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Whether the broker answers: a metadata request within {@link #TIMEOUT}. Part of readiness, since a
 * service that cannot reach the broker neither reads its topics nor publishes its events.
 */
public final class KafkaHealth implements HealthIndicator, AutoCloseable {

  /** How long the broker has to answer before the service counts as unable to reach it. */
  public static final Duration TIMEOUT = Duration.ofSeconds(3);

  private final String bootstrapServers;
  private volatile Admin admin;

  public KafkaHealth(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
  }

  @Override
  public Health health() {
    try {
      var cluster = admin().describeCluster(new DescribeClusterOptions().timeoutMs((int) TIMEOUT.toMillis()));
      int brokers = cluster.nodes().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).size();
      return Health.up().withDetail("brokers", brokers).build();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Health.down(e).build();
    } catch (Exception e) {
      return Health.down().withDetail("error", "the broker did not answer within " + TIMEOUT.toSeconds() + " s: " + e).build();
    }
  }

  private Admin admin() {
    Admin current = admin;
    if (current == null) {
      synchronized (this) {
        if (admin == null) {
          admin = Admin.create(Map.of(
              AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
              AdminClientConfig.CLIENT_ID_CONFIG, "backstop-health",
              AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis(),
              AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis()));
        }
        current = admin;
      }
    }
    return current;
  }

  @Override
  public void close() {
    if (admin != null) {
      admin.close(Duration.ofSeconds(1));
    }
  }
}
