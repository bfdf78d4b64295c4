package dev.backstop.embedded;

import dev.backstop.gateway.GatewayApplication;
import dev.backstop.notifier.NotifierApplication;
import dev.backstop.retention.RetentionApplication;
import dev.backstop.scheduler.SchedulerApplication;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.inprocess.ConsumerGroups;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.walarchiver.WalArchiverApplication;
import dev.backstop.worker.WorkerApplication;
import dev.backstop.worker.config.VerifierProperties;
import dev.backstop.worker.engine.RestoreEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cloud.stream.binder.Binding;
import org.springframework.cloud.stream.binding.BindingService;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Backstop in one JVM: a Kafka broker (KRaft) and a MongoDB-wire store persisting under a data
 * directory, archives on the filesystem, and the services, each in its own Spring context
 * configured exactly as it would be against external Kafka and MongoDB.
 */
public final class BackstopEmbedded implements AutoCloseable {

  /**
   * How to start.
   *
   * @param dataDirectory where the broker log, the store, the archives and the generated secrets live
   * @param gatewayPort HTTP port of the gateway; 0 picks a free one
   * @param kafkaPort broker port; 0 for the one this data directory used last if free, else a free one
   * @param kafkaControllerPort controller port, stored in the quorum; 0 for the one this data directory used
   *     last, or a free one on a fresh directory
   * @param clock the clock all services read; tests move it forward
   * @param extraProperties further settings, as {@code name=value}, for every service
   * @param mongoUri a MongoDB to use instead of the in-process store under the data directory; null for that store
   */
  public record Options(Path dataDirectory, int gatewayPort, int kafkaPort, int kafkaControllerPort, Clock clock,
      Map<String, String> extraProperties, String mongoUri) {

    public static Options defaults(Path dataDirectory) {
      return new Options(dataDirectory, 8080, 0, 0, Clock.systemUTC(), Map.of(), null);
    }
  }

  /**
   * How long the broker holds a consumer's fetch while its partitions have nothing new (Kafka's default: 500 ms).
   * One JVM runs the services' 24 consumers and the broker: at 500 ms their idle fetches, 48 a second, were a
   * third of its CPU when nothing happens (docs/benchmarks.md). A held fetch is answered as soon as a record
   * arrives, so no event waits longer. What waits: a consumer's close ({@link #close()}), and, after a rebalance, a
   * partition newly assigned to a consumer, whose first fetch and offset lookup queue behind the fetch the broker
   * holds on that connection. Here each group has one member, so that happens at start-up only.
   */
  static final Duration IDLE_FETCH_WAIT = Duration.ofSeconds(5);

  private final InProcessKafka kafka;
  private final MongoHandle mongo;
  private final List<ConfigurableApplicationContext> contexts;
  private final String gatewayUrl;
  private final String operatorToken;
  private final Path archiveDirectory;
  private final Path workDirectory;

  private BackstopEmbedded(InProcessKafka kafka, MongoHandle mongo, List<ConfigurableApplicationContext> contexts,
      String gatewayUrl, String operatorToken, Path archiveDirectory, Path workDirectory) {
    this.kafka = kafka;
    this.mongo = mongo;
    this.contexts = contexts;
    this.gatewayUrl = gatewayUrl;
    this.operatorToken = operatorToken;
    this.archiveDirectory = archiveDirectory;
    this.workDirectory = workDirectory;
  }

  public static BackstopEmbedded start(Options options) {
    // one JVM, four Spring contexts: let logback.xml configure logging once instead of each context resetting it
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    Path data = options.dataDirectory().toAbsolutePath();
    String secretsKey = secretFile(data.resolve("secrets.key"), SecretSealer::newBase64Key);
    String operatorToken = secretFile(data.resolve("operator-token"), BackstopEmbedded::newToken);
    InProcessKafka kafka = InProcessKafka.start(data.resolve("kafka"), options.kafkaPort(), options.kafkaControllerPort());
    MongoHandle mongo = options.mongoUri() == null
        ? InProcessMongo.persistent(data.resolve("mongo"), 0)
        : external(options.mongoUri());

    Map<String, String> common = new LinkedHashMap<>();
    common.put("spring.kafka.bootstrap-servers", kafka.bootstrapServers());
    common.put("spring.cloud.stream.kafka.binder.brokers", kafka.bootstrapServers());
    common.put("spring.mongodb.uri", mongo.uri());
    common.put("backstop.archive.directory", data.resolve("archives").toString());
    common.put("backstop.secrets.key", secretsKey);
    common.put("backstop.gateway.operator-token", operatorToken);
    common.put("backstop.worker.work-directory", data.resolve("work").toString());
    // embedded restores into the machine's own servers, which hold other databases (a "test" one, the
    // developer's): allowed here only, and the verifier logs a WARN saying so
    common.put("backstop.verifier.allow-shared-server", "true");
    // embedded addons usually point at the machine's shared server: no replication slot there unless asked for
    common.put("backstop.wal-archiver.enabled", "false");
    common.put("spring.cloud.stream.kafka.binder.consumer-properties.fetch.max.wait.ms", Long.toString(IDLE_FETCH_WAIT.toMillis()));
    common.putAll(options.extraProperties());

    // one port for everything: the gateway's /actuator/prometheus scrapes every service's registry
    AllServicesMetrics metrics = new AllServicesMetrics();
    List<ConfigurableApplicationContext> contexts = new ArrayList<>();
    ExecutorService starter = Executors.newFixedThreadPool(2);
    try {
      List<Future<ConfigurableApplicationContext>> started = new ArrayList<>();
      started.add(starter.submit(() -> run(GatewayApplication.builder()
          .initializers(context -> context.getBeanFactory().registerSingleton("prometheusRegistry", metrics)),
          options.clock(), common, "server.port=" + options.gatewayPort())));
      started.add(starter.submit(() -> run(WorkerApplication.builder(), options.clock(), common, "spring.main.web-application-type=none")));
      started.add(starter.submit(() -> run(RetentionApplication.builder(), options.clock(), common, "spring.main.web-application-type=none")));
      started.add(starter.submit(() -> run(SchedulerApplication.builder(), options.clock(), common, "spring.main.web-application-type=none")));
      started.add(starter.submit(() -> run(WalArchiverApplication.builder(), options.clock(), common, "spring.main.web-application-type=none")));
      started.add(starter.submit(() -> run(NotifierApplication.builder(), options.clock(), common, "spring.main.web-application-type=none")));
      for (Future<ConfigurableApplicationContext> f : started) {
        contexts.add(f.get());
      }
      contexts.forEach(context -> metrics.add(context.getBean(io.prometheus.metrics.model.registry.PrometheusRegistry.class)));
    } catch (Exception e) {
      contexts.forEach(ConfigurableApplicationContext::close);
      kafka.close();
      mongo.close();
      throw new IllegalStateException("Backstop did not start: " + e.getMessage(), e);
    } finally {
      starter.shutdown();
    }
    // "running" means listening: every service's consumers hold their partitions before requests come
    int partitions = contexts.get(0).getEnvironment().getProperty("backstop.kafka.partitions", Integer.class, 3);
    ConsumerGroups.awaitAssigned(kafka.bootstrapServers(), Map.of(
        "gateway", 7 * partitions, "dump-worker", 4 * partitions, "restore-verifier", partitions, "retention", 2 * partitions,
        "scheduler", 3 * partitions, "wal-archiver", 2 * partitions, "notifier", 4 * partitions),
        Duration.ofMinutes(2));
    String port = contexts.get(0).getEnvironment().getProperty("local.server.port");
    return new BackstopEmbedded(kafka, mongo, contexts, "http://127.0.0.1:" + port, operatorToken, data.resolve("archives"),
        data.resolve("work"));
  }

  private static ConfigurableApplicationContext run(SpringApplicationBuilder builder, Clock clock, Map<String, String> common,
      String own) {
    List<String> args = new ArrayList<>();
    common.forEach((k, v) -> args.add("--" + k + "=" + v));
    args.add("--" + own);
    return builder
        .initializers(context -> context.getBeanFactory().registerSingleton("clock", clock))
        // closing is close()'s to do: Spring's own hook would close the contexts one by one, as close() began
        .registerShutdownHook(false)
        .run(args.toArray(String[]::new));
  }

  public String gatewayUrl() {
    return gatewayUrl;
  }

  public String operatorToken() {
    return operatorToken;
  }

  public String kafkaBootstrapServers() {
    return kafka.bootstrapServers();
  }

  public Path archiveDirectory() {
    return archiveDirectory;
  }

  /**
   * The scratch servers restore tests go to, one line per engine, each saying whether it answers: found
   * with its version, or not reachable and why. Asks them now, up to {@link RestoreServers#PATIENCE} each.
   */
  public List<String> restoreTestServers() {
    ConfigurableApplicationContext worker = contexts.get(1);
    VerifierProperties verifier = worker.getBean(VerifierProperties.class);
    @SuppressWarnings("unchecked")
    Map<Engine, RestoreEngine> engines = worker.getBean("restoreEngines", Map.class);
    try {
      Files.createDirectories(workDirectory);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return List.of(
        RestoreServers.describe("PostgreSQL", verifier.postgresql().toString(),
            "BACKSTOP_VERIFIER_POSTGRESQL_HOST/_PORT/_USER/_PASSWORD", engines.get(Engine.POSTGRESQL), workDirectory),
        RestoreServers.describe("MySQL/MariaDB", verifier.mysql().toString(),
            "BACKSTOP_VERIFIER_MYSQL_HOST/_PORT/_USER/_PASSWORD", engines.get(Engine.MYSQL), workDirectory));
  }

  /**
   * Stops every service's consumers at once, then closes the services together, then the broker and the store.
   * A consumer's close waits for the fetch the broker holds for it ({@link #IDLE_FETCH_WAIT}): its last request
   * queues behind that fetch on the connection. One binding after another, as each context stops its own, the 24
   * bindings waited in turn; all at once, they wait once.
   */
  @Override
  public void close() {
    inParallel(contexts.stream().filter(ConfigurableApplicationContext::isActive).flatMap(BackstopEmbedded::consumerBindings)
        .map(binding -> (Runnable) binding::stop).toList());
    inParallel(contexts.stream().map(context -> (Runnable) context::close).toList());
    kafka.close();
    mongo.close();
  }

  private static Stream<Binding<?>> consumerBindings(ConfigurableApplicationContext context) {
    BindingService bindings = context.getBean(BindingService.class);
    return Arrays.stream(bindings.getConsumerBindingNames()).flatMap(name -> bindings.getConsumerBindings(name).stream());
  }

  /** Runs each task on a thread of its own and returns once all have ended; one that fails does not stop the others. */
  private static void inParallel(List<Runnable> tasks) {
    Thread.Builder builder = Thread.ofPlatform().name("backstop-shutdown-", 0);
    List<Thread> threads = tasks.stream().map(builder::start).toList();
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** A MongoDB someone else runs: closing it is theirs to do. */
  private static MongoHandle external(String uri) {
    return new MongoHandle() {
      @Override
      public String uri() {
        return uri;
      }

      @Override
      public void close() {}
    };
  }

  /** Reads a secret kept in a 0600 file under the data directory, creating it on first start. */
  private static String secretFile(Path file, Supplier<String> generate) {
    try {
      Files.createDirectories(file.getParent());
      if (!Files.exists(file)) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, generate.get() + "\n", StandardCharsets.UTF_8);
      }
      return Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String newToken() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  public static void main(String[] args) throws InterruptedException {
    Path data = Path.of(".backstop-data");
    int port = 8080;
    int kafkaPort = 0;
    Map<String, String> settings = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--data-dir" -> data = Path.of(args[++i]);
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--kafka-port" -> kafkaPort = Integer.parseInt(args[++i]);
        case "--set" -> {
          String setting = args[++i];
          int eq = setting.indexOf('=');
          if (eq <= 0) {
            System.err.println("--set wants name=value, got " + setting);
            System.exit(2);
          }
          settings.put(setting.substring(0, eq), setting.substring(eq + 1));
        }
        case "-h", "--help" -> {
          System.out.println("usage: backstop-embedded [--data-dir DIR] [--port N] [--kafka-port N] [--set name=value]...");
          System.out.println("  Kafka's ports default to those the data directory used last, free ones on a new directory");
          System.out.println("  --set gives every service a setting, e.g. --set backstop.wal-archiver.enabled=true");
          return;
        }
        default -> {
          System.err.println("unknown option " + args[i] + " (try --help)");
          System.exit(2);
        }
      }
    }
    var defaults = Options.defaults(data);
    BackstopEmbedded backstop;
    try {
      backstop = start(new Options(defaults.dataDirectory(), port, kafkaPort, defaults.kafkaControllerPort(), defaults.clock(),
          settings, null));
    } catch (IllegalStateException e) {
      String reason = String.valueOf(e.getMessage());
      System.err.println(reason.startsWith("Backstop did not start") ? reason : "Backstop did not start: " + reason);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(backstop::close, "backstop-shutdown"));
    System.out.println();
    System.out.println("Backstop is running");
    System.out.println("  gateway          " + backstop.gatewayUrl());
    System.out.println("  operator token   in " + data.toAbsolutePath().resolve("operator-token"));
    System.out.println("  kafka            " + backstop.kafkaBootstrapServers());
    System.out.println("  data directory   " + data.toAbsolutePath());
    List<String> restoreServers = backstop.restoreTestServers();
    System.out.println("  restore tests    " + restoreServers.get(0));
    restoreServers.subList(1, restoreServers.size()).forEach(line -> System.out.println("                   " + line));
    System.out.println("Stop with Ctrl-C.");
    Thread.currentThread().join();
  }
}
