package dev.backstop.walarchiver;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The archiver's meters, shared by every stream it runs: an addon id as a tag would make one series per
 * customer, so the lag is a distribution over all streams and gaps one count.
 */
record WalMetrics(DistributionSummary lag, Counter gaps) {

  static WalMetrics register(MeterRegistry meters) {
    return new WalMetrics(
        DistributionSummary.builder("backstop.wal.lag")
            .description("WAL the server has written and the archive store does not hold yet, each time a chunk is stored")
            .baseUnit("bytes").register(meters),
        Counter.builder("backstop.wal.gaps")
            .description("Gaps found in a stream's WAL: the recoverable window restarts after each").register(meters));
  }
}
