package dev.backstop.notifier.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;
import org.springframework.validation.annotation.Validated;

/**
 * Notifier settings ({@code backstop.notifier.*}).
 *
 * @param retryDelays the wait before each retry of a failed delivery, in order; after the last one fails the
 *     delivery is given up. The default, 5 s to 10 h doubling roughly, spans about a day (27.6 h)
 * @param connectTimeout how long a delivery waits for the endpoint's TCP and TLS handshake
 * @param readTimeout how long a delivery waits for each read of the endpoint's answer
 * @param attemptTimeout the most one attempt may take, all included: an endpoint that answers a byte at a
 *     time is cut off here
 * @param maxResponseBytes the most of an answer's body read (then discarded): only the status counts
 * @param workers deliveries in flight at once, at most one per endpoint, so a slow endpoint holds one worker
 * @param pollInterval how often due deliveries are looked for
 * @param leaseTime how long an instance holds a delivery it started before another may take it over
 * @param disableAfterFailures an endpoint is disabled after this many failed attempts in a row ...
 * @param disableAfter ... once the first of them is at least this old
 * @param maxEventAge events older than this when read (a replay into an empty store, a notifier back after a
 *     long outage) are not delivered: customers hear of what happens, not of history
 */
@Validated
@ConfigurationProperties("backstop.notifier")
public record NotifierProperties(
    @NotEmpty @DefaultValue({"5s", "5m", "30m", "2h", "5h", "10h", "10h"}) List<@NotNull Duration> retryDelays,
    @NotNull @DefaultValue("5s") Duration connectTimeout,
    @NotNull @DefaultValue("10s") Duration readTimeout,
    @NotNull @DefaultValue("30s") Duration attemptTimeout,
    @NotNull @DefaultValue("16KB") @DataSizeUnit(DataUnit.BYTES) DataSize maxResponseBytes,
    @Min(1) @Max(256) @DefaultValue("8") int workers,
    @NotNull @DefaultValue("500ms") Duration pollInterval,
    @NotNull @DefaultValue("2m") Duration leaseTime,
    @Positive @DefaultValue("20") int disableAfterFailures,
    @NotNull @DefaultValue("5d") Duration disableAfter,
    @NotNull @DefaultValue("2d") Duration maxEventAge) {}
