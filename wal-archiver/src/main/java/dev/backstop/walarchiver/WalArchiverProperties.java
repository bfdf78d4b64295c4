package dev.backstop.walarchiver;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * WAL archiving settings ({@code backstop.wal-archiver.*}).
 *
 * @param enabled stream at all; off, addons are still tracked and their window says archiving is off (the
 *     embedded mode's addons usually point at the machine's shared server, where a slot would pin WAL)
 * @param chunkInterval how often received WAL is stored as a chunk (the RPO: about this plus one PUT)
 * @param lease a stream whose owner stops renewing is taken over by another instance after this
 * @param tick supervisor period: lease renewals and claims
 * @param maxStreams streams one instance runs at most
 * @param auditInterval how often each owned stream checks that the store still holds every byte from the
 *     oldest kept base (or where it started) to what it acknowledged; a hole is a gap
 * @param probeInterval how often the primary is asked for its time and flushed WAL position, which gives the
 *     latest archived instant
 * @param progressInterval how often a stream publishes {@code WalArchived} (with the latest archived
 *     instant), saves its progress and re-evaluates its window
 * @param streamDownBound the server's WAL advancing while the archive has not for longer than this makes the
 *     window broken ("stream down since T") until the stream catches up
 * @param fallbackAfter a Business addon's secondary unreachable for this long: its stream moves to the primary
 *     (from the primary's slot, kept just behind the archive: no gap)
 * @param moveBackInterval while the primary stands in, how often the secondary is asked whether it is back and
 *     has received the archived WAL; then the stream returns to it
 */
@Validated
@ConfigurationProperties("backstop.wal-archiver")
public record WalArchiverProperties(
    @DefaultValue("true") boolean enabled,
    @NotNull @DefaultValue("200ms") Duration chunkInterval,
    @NotNull @DefaultValue("30s") Duration lease,
    @NotNull @DefaultValue("2s") Duration tick,
    @Min(1) @Max(100_000) @DefaultValue("200") int maxStreams,
    @NotNull @DefaultValue("60s") Duration auditInterval,
    @NotNull @DefaultValue("1s") Duration probeInterval,
    @NotNull @DefaultValue("10s") Duration progressInterval,
    @NotNull @DefaultValue("10m") Duration streamDownBound,
    @NotNull @DefaultValue("30s") Duration fallbackAfter,
    @NotNull @DefaultValue("30s") Duration moveBackInterval) {}
