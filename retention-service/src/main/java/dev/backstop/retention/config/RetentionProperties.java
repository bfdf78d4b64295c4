package dev.backstop.retention.config;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Retention settings ({@code backstop.retention.*}).
 *
 * @param interval how often every addon is evaluated even if no backup completes: removed addons age out this way
 * @param downloadGrace how long an archive stays in the store after its backup left the listing, so that
 *     a download already under way is not cut off
 * @param catchUpAge a backup event older than this when read (a replay, a consumer back from downtime)
 *     does not trigger an evaluation at once; its addon is evaluated once reading has caught up
 * @param settleTime how long reading must have been caught up before deferred evaluations run
 * @param flushInterval shortest time between two writes of pending backup records to the store; a backup
 *     event is acknowledged to Kafka once written, so this is also about how late an acknowledgement may be
 * @param flushChanges pending changes that force a write at once, whatever the interval: bounds the
 *     memory they hold
 * @param cachedAddons addons whose records stay cached in memory once written; the least recently used
 *     are dropped beyond
 */
@Validated
@ConfigurationProperties("backstop.retention")
public record RetentionProperties(
    @NotNull @DefaultValue("1h") Duration interval,
    @NotNull @DefaultValue("1h") Duration downloadGrace,
    @NotNull @DefaultValue("5m") Duration catchUpAge,
    @NotNull @DefaultValue("10s") Duration settleTime,
    @NotNull @DefaultValue("1s") Duration flushInterval,
    @Positive @DefaultValue("2000000") int flushChanges,
    @Positive @DefaultValue("50000") int cachedAddons) {}
