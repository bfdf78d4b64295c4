package dev.backstop.bench;

import dev.backstop.retention.RetentionApplication;
import dev.backstop.retention.pruning.Pruner;
import dev.backstop.retention.policy.RetentionPolicy;
import dev.backstop.retention.policy.StoredBackup;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.serde.EventSerializer;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Retention rebuilt from nothing by replay: 10,000 addons with a year of backups each (1,000,000
 * outcomes in all, scheduled and manual, some failed) on the backup-events topic, read from offset 0
 * by a retention service with an empty store, until every addon is evaluated. The baseline in the
 * same run is the policy alone: one evaluation of each addon's whole history in memory.
 */
public final class RetentionBench {

  private static final List<ZoneId> ZONES = List.of(ZoneId.of("Europe/Paris"), ZoneId.of("UTC"), ZoneId.of("America/New_York"));

  public static void main(String[] args) throws Exception {
    int addons = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int perAddon = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    Instant now = Instant.now();
    Instant start = now.minus(Duration.ofDays(365));
    Random random = new Random(1);
    try (InProcessKafka kafka = InProcessKafka.startTemporary(); InProcessMongo mongo = InProcessMongo.inMemory()) {
      // the topics as the services declare them (partitions, kept forever), before anything is published
      try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        admin.createTopics(Topics.definitions(3, (short) 1)).all().get();
      }
      List<List<StoredBackup>> histories = new ArrayList<>();
      List<SpecificRecord> registrations = new ArrayList<>();
      for (int a = 0; a < addons; a++) {
        Plan plan = a % 3 == 0 ? Plan.BUSINESS : Plan.STARTER;
        registrations.add(Events.registered(Events.addon("addon-" + a, "app-" + a, plan, 1, ZONES.get(a % 3).getId()), start));
        histories.add(new ArrayList<>());
      }
      // registered a year ago, as a replay finds them: written then, not now
      try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
          new StringSerializer(), new EventSerializer())) {
        for (SpecificRecord registration : registrations) {
          producer.send(new ProducerRecord<>(Topics.ADDONS, null, start.toEpochMilli(),
              ((AddonRegistered) registration).getAddon().getAddonId(), registration));
        }
      }

      long t0 = System.nanoTime();
      try (var producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers(),
          "linger.ms", 20, "batch.size", 262144, "compression.type", "gzip"), new StringSerializer(), new EventSerializer())) {
        // chronological, as the topic holds them: step by step through the year, every addon in turn
        Duration step = Duration.ofDays(365).dividedBy(perAddon);
        for (int i = 0; i < perAddon; i++) {
          for (int a = 0; a < addons; a++) {
            String addonId = "addon-" + a;
            Instant at = start.plus(step.multipliedBy(i)).plusSeconds(random.nextInt(3600));
            String id = addonId + "-" + i;
            boolean manual = random.nextInt(10) == 0;
            boolean ok = random.nextInt(20) != 0;
            BackupKind kind = manual ? BackupKind.MANUAL : BackupKind.SCHEDULED;
            SpecificRecord event = ok
                ? new BackupCompleted(id, addonId, "app", kind, at, at, at.plusSeconds(60), "PRIMARY@db:5432", null,
                    addonId + "/" + id + "/x.tar.gz", "x.tar.gz", 1000L, "00", null, null, null, null)
                : new BackupFailed(id, addonId, "app", kind, at, at.plusSeconds(5), null, "connection refused");
            histories.get(a).add(new StoredBackup(id, kind, ok, ok ? at : at.plusSeconds(5)));
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, at.toEpochMilli(), addonId, event));
          }
        }
      }
      System.err.printf(Locale.ROOT, "published %,d outcomes in %.1f s%n", (long) addons * perAddon, (System.nanoTime() - t0) / 1e9);

      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      System.gc();
      long cpu0 = os.getProcessCpuTime();
      long wall0 = System.nanoTime();
      Path archives = Files.createTempDirectory("retention-bench");
      var context = RetentionApplication.builder().run(
          "--spring.main.web-application-type=none", "--spring.main.banner-mode=off",
          "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
          "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
          "--spring.mongodb.uri=" + mongo.uri(),
          "--backstop.archive.directory=" + archives,
          "--backstop.retention.settle-time=PT2S");
      Pruner pruner = context.getBean(Pruner.class);
      ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("retention"), List.of(Topics.ADDONS, Topics.BACKUP_EVENTS),
          Duration.ofHours(1));
      double caughtUp = (System.nanoTime() - wall0) / 1e9;
      while (pruner.deferredCount() > 0) {
        Thread.sleep(200);
      }
      // the last deferred evaluations publish their BackupPruned; wait until those are read too
      ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("retention"), List.of(Topics.BACKUP_EVENTS), Duration.ofMinutes(10));
      double wall = (System.nanoTime() - wall0) / 1e9;
      double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
      long peakHeap = ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP)
          .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
      String rss = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM")).findFirst()
          .orElse("VmHWM: ?").replaceAll("\\s+", " ").replace("VmHWM: ", "");
      context.close();

      // baseline: the policy alone, every addon's whole history once, in memory
      long b0 = System.nanoTime();
      java.util.Set<String> expected = new java.util.HashSet<>();
      for (int a = 0; a < addons; a++) {
        Plan plan = a % 3 == 0 ? Plan.BUSINESS : Plan.STARTER;
        expected.addAll(RetentionPolicy.evaluate(plan, ZONES.get(a % 3), now, histories.get(a)).kept().keySet());
      }
      double baseline = (System.nanoTime() - b0) / 1e9;
      long kept = expected.size();

      // the service must have kept exactly what the policy keeps
      java.util.Set<String> actual = new java.util.HashSet<>();
      try (var client = com.mongodb.client.MongoClients.create(mongo.uri())) {
        client.getDatabase("backstop-retention").getCollection("retention").find().batchSize(100).forEach(addon ->
            addon.get("backups", org.bson.Document.class).values().stream().map(org.bson.Document.class::cast)
                .filter(b -> !b.getBoolean("pruned", false)).forEach(b -> actual.add(b.getString("id"))));
      }
      if (!actual.equals(expected)) {
        System.err.printf(Locale.ROOT, "WRONG: the service kept %,d backups, the policy %,d%n", actual.size(), expected.size());
        System.exit(1);
      }

      System.out.printf(Locale.ROOT, "| %s | %,d addons × %d outcomes | Backstop: retention-service replays `backstop.backup-events` from offset 0 "
              + "into an empty store, every addon evaluated | %.1f s (topic read in %.1f s) | %.1f s | heap peak %d MiB, RSS peak %s |%n",
          LocalDate.now(), addons, perAddon, wall, caughtUp, cpu, peakHeap >> 20, rss);
      System.out.printf(Locale.ROOT, "| %s | same histories | baseline: the policy alone, one evaluation per addon in memory | %.1f s | — | %,d kept |%n",
          LocalDate.now(), baseline, kept);
    }
    System.exit(0);
  }

  private RetentionBench() {}
}
