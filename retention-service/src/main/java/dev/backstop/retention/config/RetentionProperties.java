package dev.backstop.retention.config;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/** Retention settings ({@code backstop.retention.*}). */
@Validated
@ConfigurationProperties("backstop.retention")
public class RetentionProperties {

  /** How often every addon is evaluated even if no backup completes: removed addons age out this way. */
  @NotNull private Duration interval = Duration.ofHours(1);

  /**
   * How long an archive stays in the store after its backup left the listing, so that a download
   * already under way is not cut off.
   */
  @NotNull private Duration downloadGrace = Duration.ofHours(1);

  /**
   * A backup event older than this when read (a replay, a consumer back from downtime) does not trigger
   * an evaluation at once; its addon is evaluated once reading has caught up.
   */
  @NotNull private Duration catchUpAge = Duration.ofMinutes(5);

  /** How long reading must have been caught up before deferred evaluations run. */
  @NotNull private Duration settleTime = Duration.ofSeconds(10);

  /**
   * Shortest time between two writes of pending backup records to the store; a backup event is
   * acknowledged to Kafka once written, so this is also about how late an acknowledgement may be.
   */
  @NotNull private Duration flushInterval = Duration.ofSeconds(1);

  /** Pending changes that force a write at once, whatever the interval: bounds the memory they hold. */
  @Positive private int flushChanges = 2_000_000;

  /** Addons whose records stay cached in memory once written; the least recently used are dropped beyond. */
  @Positive private int cachedAddons = 50_000;

  public Duration getFlushInterval() {
    return flushInterval;
  }

  public void setFlushInterval(Duration flushInterval) {
    this.flushInterval = flushInterval;
  }

  public int getFlushChanges() {
    return flushChanges;
  }

  public void setFlushChanges(int flushChanges) {
    this.flushChanges = flushChanges;
  }

  public int getCachedAddons() {
    return cachedAddons;
  }

  public void setCachedAddons(int cachedAddons) {
    this.cachedAddons = cachedAddons;
  }

  public Duration getCatchUpAge() {
    return catchUpAge;
  }

  public void setCatchUpAge(Duration catchUpAge) {
    this.catchUpAge = catchUpAge;
  }

  public Duration getSettleTime() {
    return settleTime;
  }

  public void setSettleTime(Duration settleTime) {
    this.settleTime = settleTime;
  }

  public Duration getInterval() {
    return interval;
  }

  public void setInterval(Duration interval) {
    this.interval = interval;
  }

  public Duration getDownloadGrace() {
    return downloadGrace;
  }

  public void setDownloadGrace(Duration downloadGrace) {
    this.downloadGrace = downloadGrace;
  }
}
