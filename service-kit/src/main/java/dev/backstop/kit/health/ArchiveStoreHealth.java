package dev.backstop.kit.health;

import dev.backstop.kit.archive.ArchiveStore;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Whether the archive store answers ({@link ArchiveStore#checkReachable()}); part of readiness where archives are written or read. */
public final class ArchiveStoreHealth implements HealthIndicator {

  private final ArchiveStore store;

  public ArchiveStoreHealth(ArchiveStore store) {
    this.store = store;
  }

  @Override
  public Health health() {
    try {
      store.checkReachable();
      return Health.up().withDetail("store", store.toString()).build();
    } catch (Exception e) {
      // the message names the store's root or bucket, never a credential (S3's toString leaves the secret out)
      return Health.down().withDetail("store", store.toString()).withDetail("error", String.valueOf(e.getMessage())).build();
    }
  }
}
