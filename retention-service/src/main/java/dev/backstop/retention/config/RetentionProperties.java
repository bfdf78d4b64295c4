package dev.backstop.retention.config;

import jakarta.validation.constraints.NotNull;
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
