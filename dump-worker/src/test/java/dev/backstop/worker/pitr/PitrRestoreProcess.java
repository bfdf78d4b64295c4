package dev.backstop.worker.pitr;

import com.mongodb.client.MongoClients;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.PitrRestoreProperties;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.job.JobRunner;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * A worker of its own, in a JVM the test kills with SIGKILL mid-restore: the restore runner on the test's
 * ledger, reading WAL slowly (so that the kill lands while its scratch server replays), publishing nowhere.
 * Args: mongo-uri database store-dir key-file work-dir.
 */
public final class PitrRestoreProcess {

  public static void main(String[] args) throws Exception {
    var database = MongoClients.create(args[0]).getDatabase(args[1]);
    ArchiveStore store = new Slow(new FilesystemArchiveStore(Path.of(args[2])));
    ArchiveCipher cipher = new ArchiveCipher(store, Base64.getDecoder().decode(Files.readString(Path.of(args[3])).strip()));
    WorkerProperties properties = WorkerProperties.bind(Map.of("work-directory", args[4], "lease-duration", "3s",
        "heartbeat-interval", "500ms", "instance-name", "doomed-worker"));
    JobLedger ledger = new JobLedger(database);
    EventPublisher nowhere = new EventPublisher(null, () -> "unused:9092") {
      @Override
      public void publish(String topic, String key, SpecificRecord event) {}
    };
    PitrRestoreJob job = new PitrRestoreJob(new AddonCatalog(database), ledger, store, cipher, nowhere, new PitrWindows(database),
        properties, PitrRestoreProperties.bind(Map.of("lookahead", 1, "fetch-threads", 1)), BackstopProperties.bind(Map.of()),
        Clock.systemUTC());
    new JobRunner("backup", ledger, claimed -> job.execute(claimed, (BackupRequested) EventCodec.get().decode(claimed.request())),
        1, properties.instanceName(), properties.leaseDuration(), Duration.ofMillis(100), Duration.ofSeconds(1), Clock.systemUTC())
        .start();
    Thread.sleep(Long.MAX_VALUE);
  }

  /** WAL objects read a second late each. */
  private record Slow(ArchiveStore store) implements ArchiveStore {
    @Override
    public void put(String key, Path file) throws IOException {
      store.put(key, file);
    }

    @Override
    public boolean putIfAbsent(String key, Path file) throws IOException {
      return store.putIfAbsent(key, file);
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
      if (key.matches(".*/pitr/(system/[0-9]+/)?wal/.*")) { // WAL of any cluster, or of the legacy layout
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return store.open(key, offset);
    }

    @Override
    public long size(String key) throws IOException {
      return store.size(key);
    }

    @Override
    public boolean exists(String key) throws IOException {
      return store.exists(key);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
      return store.list(prefix);
    }

    @Override
    public boolean delete(String key) throws IOException {
      return store.delete(key);
    }
  }
}
