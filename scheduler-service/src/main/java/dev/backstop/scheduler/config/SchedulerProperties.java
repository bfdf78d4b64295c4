package dev.backstop.scheduler.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Scheduler settings ({@code backstop.scheduler.*}).
 *
 * @param tick how often the scheduler looks for due addons; a request is late by at most this much
 * @param batchSize at most this many due addons are handled per query, so one tick never holds a huge
 *     result in memory
 * @param missedGrace how long after an addon's daily fire time its day is judged: no successful backup of
 *     that local day by then (and none running) is reported as a {@code BackupMissed}
 */
@Validated
@ConfigurationProperties("backstop.scheduler")
public record SchedulerProperties(
    @NotNull @DefaultValue("15s") Duration tick,
    @Min(1) @Max(100_000) @DefaultValue("500") int batchSize,
    @NotNull @DefaultValue("6h") Duration missedGrace) {}
