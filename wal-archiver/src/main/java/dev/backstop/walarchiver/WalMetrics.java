package dev.backstop.walarchiver;

import dev.backstop.pitr.PitrState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The archiver's meters, shared by every stream it runs: an addon id as a tag would make one series per
 * customer, so the lag is a distribution over all streams, gaps one count, and windows a count per state.
 */
record WalMetrics(DistributionSummary lag, Counter gaps) {

  private static final Logger log = LoggerFactory.getLogger(WalMetrics.class);

  /** How long a count of windows is reused: a scrape every few seconds asks the store at most this often. */
  private static final Duration WINDOW_COUNT_REUSE = Duration.ofSeconds(10);

  static WalMetrics register(MeterRegistry meters) {
    return new WalMetrics(
        DistributionSummary.builder("backstop.wal.lag")
            .description("WAL the server has written and the archive store does not hold yet, each time a chunk is stored")
            .baseUnit("bytes").register(meters),
        Counter.builder("backstop.wal.gaps")
            .description("Gaps found in a stream's WAL: the recoverable window restarts after each").register(meters));
  }

  /**
   * {@code backstop.pitr.windows{state}}: how many addons' recoverable windows are in each state, as last
   * published ({@code pitr_windows}, which every instance shares: each reports the same counts).
   */
  static void registerWindowStates(MeterRegistry meters, ToLongFunction<PitrState> count) {
    for (PitrState state : PitrState.values()) {
      Gauge.builder("backstop.pitr.windows", new ReusedCount(() -> count.applyAsLong(state)), ReusedCount::value)
          .description("Addons whose point-in-time recovery window is in this state")
          .tag("state", state.name().toLowerCase(Locale.ROOT)).strongReference(true).register(meters);
    }
  }

  /** A count asked of the store at most every {@link #WINDOW_COUNT_REUSE}; NaN while the store cannot answer. */
  private static final class ReusedCount {
    private final java.util.function.LongSupplier count;
    private long askedAt;
    private double value = Double.NaN;
    private boolean asked;

    ReusedCount(java.util.function.LongSupplier count) {
      this.count = count;
    }

    synchronized double value() {
      long now = System.nanoTime();
      if (!asked || now - askedAt >= WINDOW_COUNT_REUSE.toNanos()) {
        asked = true;
        askedAt = now;
        try {
          value = count.getAsLong();
        } catch (RuntimeException e) {
          log.debug("cannot count the PITR windows: {}", e.toString());
          value = Double.NaN;
        }
      }
      return value;
    }
  }
}
