package dev.backstop.walarchiver;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.pitr.ArchiveWalSegmentStore;
import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.secret.SecretSealer;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wiring: the addons projection fed by {@code backstop.addons}, the bases fed by {@code backstop.backup-events}
 * (WAL pruned after a base is), the supervisor ticking, each owned stream with its window tracker.
 */
@Configuration
public class WalArchiverConfiguration {

  private static final Logger log = LoggerFactory.getLogger(WalArchiverConfiguration.class);

  @Bean
  AddonsProjection addonsProjection(MongoDatabase database, SecretSealer sealer) {
    return new AddonsProjection(database, sealer);
  }

  @Bean
  StreamLeases streamLeases(MongoDatabase database) {
    return new StreamLeases(database);
  }

  @Bean
  PitrBases pitrBases(MongoDatabase database) {
    return new PitrBases(database);
  }

  @Bean
  WindowPublisher windowPublisher(MongoDatabase database, AddonsProjection addons, PitrBases bases, StreamLeases leases,
      EventPublisher publisher, Clock clock, WalArchiverProperties settings, MeterRegistry meters) {
    WindowPublisher windows = new WindowPublisher(database, addons, bases, leases, publisher, clock, settings.enabled());
    WalMetrics.registerWindowStates(meters, windows::count);
    return windows;
  }

  @Bean
  ArchiveWalSegmentStore walSegmentStore(ArchiveStore store, ArchiveCipher cipher) throws IOException {
    return new ArchiveWalSegmentStore(store, cipher, Files.createTempDirectory("wal-archiver"));
  }

  @Bean
  WalPruner walPruner(ArchiveWalSegmentStore wal, PitrBases bases, StreamLeases leases) {
    return new WalPruner(wal, bases, leases);
  }

  @Bean
  public Consumer<SpecificRecord> addonEvents(AddonsProjection addons, WindowPublisher windows) {
    return event -> {
      switch (event) {
        case AddonRegistered e -> {
          addons.apply(e.getAddon(), e.getRevision());
          windows.refresh(e.getAddon().getAddonId());
        }
        case AddonChanged e -> {
          addons.apply(e.getAddon(), e.getRevision());
          windows.refresh(e.getAddon().getAddonId());
        }
        case AddonRemoved e -> {
          addons.remove(e.getAddonId(), e.getRevision());
          windows.refresh(e.getAddonId());
        }
        default -> { }
      }
    };
  }

  /** Bases enter the window when completed; a pruned base lets the WAL below the oldest kept one go. */
  @Bean
  public Consumer<SpecificRecord> backupEvents(PitrBases bases, WalPruner pruner, WindowPublisher windows) {
    return event -> {
      switch (event) {
        case BackupCompleted e -> {
          if (bases.completed(e)) {
            windows.refresh(e.getAddonId());
          }
        }
        case BackupPruned e -> bases.pruned(e).ifPresent(base -> {
          try {
            pruner.prune(e.getAddonId());
          } catch (IOException failed) {
            throw new UncheckedIOException("could not prune the WAL of " + e.getAddonId(), failed);
          }
          windows.refresh(e.getAddonId());
        });
        default -> { }
      }
    };
  }

  @Bean
  StreamSupervisor streamSupervisor(StreamLeases leases, AddonsProjection addons, ArchiveWalSegmentStore wal,
      PitrBases bases, WindowPublisher windows, EventPublisher publisher, Clock clock, WalArchiverProperties settings,
      MeterRegistry meters) {
    WalMetrics metrics = WalMetrics.register(meters);
    String owner = "wal-archiver-" + UUID.randomUUID();
    return new StreamSupervisor(leases, addons, (target, epoch) -> {
      WindowTracker tracker = new WindowTracker(target, epoch, owner, leases, bases, windows, publisher, clock, settings,
          leases.facts(target.addonId())).withMetrics(metrics);
      WalStream stream = new WalStream(target, wal, clock, settings.chunkInterval(), tracker, tracker.resume());
      stream.auditFloor(tracker::auditFloor);
      return new StreamSupervisor.Run(stream, tracker);
    }, clock, owner, settings.lease(), settings.maxStreams(), settings.auditInterval(), settings.fallbackAfter(),
        settings.moveBackInterval());
  }

  @Bean
  SmartLifecycle streamTicker(StreamSupervisor supervisor, WalArchiverProperties settings) {
    Duration tick = settings.tick();
    boolean enabled = settings.enabled();
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
}
