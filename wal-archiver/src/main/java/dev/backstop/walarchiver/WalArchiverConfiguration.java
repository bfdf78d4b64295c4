package dev.backstop.walarchiver;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.pitr.Lsn;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.WalArchived;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.events.WalTimelineSwitched;
import dev.backstop.schemas.secret.SecretSealer;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wiring: the addons projection fed by {@code backstop.addons}, the supervisor ticking, stream events published. */
@Configuration
public class WalArchiverConfiguration {

  private static final Logger log = LoggerFactory.getLogger(WalArchiverConfiguration.class);

  @Bean
  AddonsProjection addonsProjection(MongoDatabase database, SecretSealer sealer) {
    return new AddonsProjection(database, sealer);
  }

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonsProjection addons) {
    return event -> {
      switch (event) {
        case AddonRegistered e -> addons.apply(e.getAddon(), e.getRevision());
        case AddonChanged e -> addons.apply(e.getAddon(), e.getRevision());
        case AddonRemoved e -> addons.remove(e.getAddonId(), e.getRevision());
        default -> { }
      }
    };
  }

  @Bean
  StreamSupervisor streamSupervisor(MongoDatabase database, AddonsProjection addons, ArchiveStore store,
      ArchiveCipher cipher, EventPublisher publisher, Clock clock, io.micrometer.core.instrument.MeterRegistry meters,
      @Value("${backstop.wal-archiver.chunk-interval:200ms}") Duration chunkInterval,
      @Value("${backstop.wal-archiver.lease:30s}") Duration lease,
      @Value("${backstop.wal-archiver.max-streams:200}") int maxStreams,
      @Value("${backstop.wal-archiver.audit-interval:60s}") Duration auditInterval) throws IOException {
    ArchiveWalSegmentStore wal = new ArchiveWalSegmentStore(store, cipher, Files.createTempDirectory("wal-archiver"));
    String owner = "wal-archiver-" + UUID.randomUUID();
    return new StreamSupervisor(new StreamLeases(database), addons,
        target -> new WalStream(target, wal, clock, chunkInterval, new PublishingListener(target, publisher, clock, meters)),
        clock, owner, lease, maxStreams, auditInterval);
  }

  @Bean
  SmartLifecycle streamTicker(StreamSupervisor supervisor,
      @Value("${backstop.wal-archiver.tick:2s}") Duration tick,
      @Value("${backstop.wal-archiver.enabled:true}") boolean enabled) {
    return new SmartLifecycle() {
      private ScheduledExecutorService timer;
      private boolean running;

      @Override
      public void start() {
        running = true;
        if (!enabled) {
          // the embedded mode's default: its addons point at the machine's shared server, where a slot would pin WAL
          log.info("WAL streaming disabled (backstop.wal-archiver.enabled=false): addons are tracked, nothing is streamed");
          return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("wal-supervisor").daemon().unstarted(r));
        timer.scheduleWithFixedDelay(() -> {
          try {
            supervisor.tick();
            supervisor.auditIfDue();
          } catch (RuntimeException e) {
            log.warn("WAL stream supervision failed, trying again: {}", e.toString());
          }
        }, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
      }

      @Override
      public void stop() {
        running = false;
        if (timer != null) {
          timer.shutdownNow();
          timer = null;
        }
        supervisor.close();
      }

      @Override
      public boolean isRunning() {
        return running;
      }
    };
  }

  /** Turns a stream's news into events: timeline switches and gaps at once, progress every 10 s. */
  static final class PublishingListener implements WalStream.Listener {
    private final StreamTarget target;
    private final EventPublisher publisher;
    private final Clock clock;
    private long lastProgress;

    private final io.micrometer.core.instrument.DistributionSummary lag;
    private final io.micrometer.core.instrument.Counter gaps;

    PublishingListener(StreamTarget target, EventPublisher publisher, Clock clock, io.micrometer.core.instrument.MeterRegistry meters) {
      // across every stream of this archiver: an addon id as a tag would make one series per customer
      this.lag = io.micrometer.core.instrument.DistributionSummary.builder("backstop.wal.lag")
          .description("WAL the server has written and the archive store does not hold yet, each time a chunk is stored")
          .baseUnit("bytes").register(meters);
      this.gaps = io.micrometer.core.instrument.Counter.builder("backstop.wal.gaps")
          .description("Gaps found in a stream's WAL: the recoverable window restarts after each").register(meters);
      this.target = target;
      this.publisher = publisher;
      this.clock = clock;
    }

    @Override
    public void durable(int timeline, Lsn durable, long lagBytes, WalStream.Counters counters) {
      if (lagBytes >= 0) {
        lag.record(lagBytes);
      }
      if (clock.millis() - lastProgress < 10_000) {
        return;
      }
      lastProgress = clock.millis();
      publisher.publish(Topics.PITR_PROGRESS, target.addonId(), WalArchived.newBuilder().setAddonId(target.addonId())
          .setTimeline(timeline).setDurableLsn(durable.value()).setLatest(null).setSegmentsArchived(counters.segments())
          .setBytesPlain(counters.plainBytes()).setBytesStored(counters.storedBytes()).setLagBytes(lagBytes < 0 ? null : lagBytes)
          .setNode(target.host() + ":" + target.port() + " (" + target.reason() + ")").setAt(clock.instant()).build());
    }

    @Override
    public void timelineSwitched(int from, int to, Lsn switchLsn) {
      publisher.publish(Topics.PITR_EVENTS, target.addonId(), WalTimelineSwitched.newBuilder()
          .setAddonId(target.addonId()).setFromTimeline(from).setToTimeline(to).setSwitchLsn(switchLsn.value())
          .setAt(clock.instant()).build());
    }

    @Override
    public void gap(Lsn from, String reason) {
      gaps.increment();
      publisher.publish(Topics.PITR_EVENTS, target.addonId(), WalGapDetected.newBuilder().setAddonId(target.addonId())
          .setSince(clock.instant()).setReason(reason).setTimeline(null).setFromLsn(from == null ? null : from.value())
          .setAt(clock.instant()).build());
    }
  }
}
