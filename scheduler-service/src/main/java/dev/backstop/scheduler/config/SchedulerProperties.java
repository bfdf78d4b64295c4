package dev.backstop.scheduler.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/** Scheduler settings ({@code backstop.scheduler.*}). */
@Validated
@ConfigurationProperties("backstop.scheduler")
public class SchedulerProperties {

  /** How often the scheduler looks for due addons; a request is late by at most this much. */
  @NotNull private Duration tick = Duration.ofSeconds(15);

  /** At most this many due addons are handled per query, so one tick never holds a huge result in memory. */
  @Min(1)
  @Max(100_000)
  private int batchSize = 500;

  public Duration getTick() {
    return tick;
  }

  public void setTick(Duration tick) {
    this.tick = tick;
  }

  public int getBatchSize() {
    return batchSize;
  }

  public void setBatchSize(int batchSize) {
    this.batchSize = batchSize;
  }
}
