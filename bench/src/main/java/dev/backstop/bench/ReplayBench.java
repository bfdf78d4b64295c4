package dev.backstop.bench;

import dev.backstop.gateway.GatewayApplication;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.retention.RetentionApplication;
import dev.backstop.retention.pruning.Pruner;
import dev.backstop.scheduler.SchedulerApplication;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.BackupHistory;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.walarchiver.WalArchiverApplication;
import dev.backstop.worker.WorkerApplication;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * How long each service takes to rebuild its view from offset 0 into an empty database: the history of
 * {@link BackupHistory} (1,000,000 backups over 10,000 addons by default, about 3.3 million records) on
 * the topics, then each service alone, started on an empty in-process store, until its groups have read
 * every topic it reads (retention: and its deferred evaluations ran). The baseline in the same run is
 * the same records read by a bare consumer that decodes them and does nothing.
 */
public final class ReplayBench {

  /** A consumer group and the topics it reads: caught up once it has committed the end of those, not of others'. */
  private record Group(String name, List<String> topics) {}

  private record Service(String name, Supplier<SpringApplicationBuilder> builder, List<Group> groups) {}

  public static void main(String[] args) throws Exception {
    int backups = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int addons = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<Service> services = List.of(
        new Service("scheduler-service", SchedulerApplication::builder, List.of(new Group("scheduler", List.of(Topics.ADDONS)))),
        new Service("wal-archiver", WalArchiverApplication::builder, List.of(new Group("wal-archiver", List.of(Topics.ADDONS)))),
        new Service("retention-service", RetentionApplication::builder,
            List.of(new Group("retention", List.of(Topics.ADDONS, Topics.BACKUP_EVENTS)))),
        new Service("api-gateway", GatewayApplication::builder,
            List.of(new Group("gateway", List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS)))),
        // the restore verifier's group reads only the events: waiting for it to commit the other topics never ended
        new Service("dump-worker", WorkerApplication::builder, List.of(
            new Group("dump-worker", List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS)),
            new Group("restore-verifier", List.of(Topics.BACKUP_EVENTS)))));
    List<String> rows = new ArrayList<>();
    try (InProcessKafka kafka = InProcessKafka.startTemporary()) {
      long t0 = System.nanoTime();
      BackupHistory history = BackupHistory.generate(addons, backups, now, null);
      int records = history.publish(kafka.bootstrapServers(), 3);
      System.err.printf(Locale.ROOT, "published %,d records (%,d backups, %,d addons) in %.1f s%n", records, backups, addons,
          (System.nanoTime() - t0) / 1e9);
      Path scratch = Files.createTempDirectory("replay-bench");
      String secretsKey = SecretSealer.newBase64Key();
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      for (Service service : services) {
        try (InProcessMongo mongo = InProcessMongo.inMemory()) {
          System.gc();
          long cpu0 = os.getProcessCpuTime();
          long wall0 = System.nanoTime();
          ConfigurableApplicationContext context = service.builder().get().run(
              "--spring.main.banner-mode=off",
              service.name().equals("api-gateway") ? "--server.port=0" : "--spring.main.web-application-type=none",
              "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
              "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
              "--spring.mongodb.uri=" + mongo.uri(),
              "--backstop.archive.directory=" + scratch.resolve("archives"),
              "--backstop.worker.work-directory=" + scratch.resolve("work"),
              "--backstop.secrets.key=" + secretsKey,
              "--backstop.gateway.operator-token=operator-token-of-the-replay-bench",
              "--backstop.wal-archiver.enabled=false",
              "--backstop.retention.settle-time=PT2S",
              "--backstop.verifier.postgresql.port=1", "--backstop.verifier.mysql.port=1");
          awaitCaughtUp(kafka.bootstrapServers(), service, Duration.ofHours(2));
          if (service.name().equals("retention-service")) {
            Pruner pruner = context.getBean(Pruner.class);
            while (pruner.deferredCount() > 0) {
              Thread.sleep(200);
            }
            awaitCaughtUp(kafka.bootstrapServers(), service, Duration.ofMinutes(30));
          }
          double wall = (System.nanoTime() - wall0) / 1e9;
          double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
          context.close();
          String row = String.format(Locale.ROOT, "| %s | %,d backups, %,d addons (%,d records) | %s: empty database, groups %s "
                  + "from offset 0 | %.1f s | %.1f s |", LocalDate.now(), backups, addons, records, service.name(),
              String.join(", ", service.groups().stream().map(Group::name).toList()), wall, cpu);
          System.err.println(row);
          rows.add(row);
        }
      }
      rows.add(baseline(kafka.bootstrapServers(), records, backups, addons));
    }
    rows.forEach(System.out::println);
    System.exit(0);
  }

  private static void awaitCaughtUp(String bootstrapServers, Service service, Duration timeout) {
    for (Group group : service.groups()) {
      ConsumerLag.awaitCaughtUp(bootstrapServers, List.of(group.name()), group.topics(), timeout);
    }
  }

  /** The same records read and decoded by a bare consumer: what reading costs without any service's work. */
  private static String baseline(String bootstrapServers, int records, int backups, int addons) {
    long wall0 = System.nanoTime();
    long read = 0;
    try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(java.util.Map.<String, Object>of(
        "bootstrap.servers", bootstrapServers, "group.id", "replay-bench-baseline", "auto.offset.reset", "earliest",
        "max.poll.records", 2000),
        new org.apache.kafka.common.serialization.StringDeserializer(), new dev.backstop.schemas.serde.EventDeserializer())) {
      consumer.subscribe(List.of(Topics.ADDONS, Topics.BACKUP_REQUESTS, Topics.BACKUP_EVENTS));
      while (read < records) {
        read += consumer.poll(Duration.ofMillis(500)).count();
      }
    }
    return String.format(Locale.ROOT, "| %s | same records | baseline: a bare consumer reads and decodes all %,d | %.1f s | — |",
        LocalDate.now(), read, (System.nanoTime() - wall0) / 1e9);
  }

  private ReplayBench() {}
}
