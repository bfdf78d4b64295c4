package dev.backstop.worker.backup;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.kit.config.BackstopProperties;
import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.testing.LocalMariadb;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.testing.TestMongoDatabases;
import dev.backstop.worker.RecordingPublisher;
import dev.backstop.worker.catalog.AddonCatalog;
import dev.backstop.worker.catalog.HostSlots;
import dev.backstop.worker.catalog.JobLedger;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.job.JobRunner;
import dev.backstop.worker.mysql.MysqlDumpEngine;
import dev.backstop.worker.mysql.MysqlReplicaProbe;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import dev.backstop.worker.postgres.PostgresReplicaProbe;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Addon settings an attacker or a careless operator could store, run through the whole job with the
 * real dump tools against the machine's servers: each ends as a {@code BackupFailed} naming the field
 * (never the value, never the worker's paths), and no tool writes anywhere but the job's folder; a
 * password full of option-file syntax still dumps the database.
 */
class HostileSettingsTest {

  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();

  private final RecordingPublisher publisher = new RecordingPublisher();
  private final List<SpecificRecord> published = publisher.events;
  private final SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());

  @TempDir Path dir;
  private AddonCatalog addons;
  private BackupJob job;
  private JobLedger ledger;
  private WorkerProperties properties;
  private String mysqlDatabase;
  /** Where an injected {@code result-file} would have put the dump. */
  private Path outside;

  @BeforeEach
  void start() {
    var database = mongo.fresh("worker");
    addons = new AddonCatalog(database);
    properties = WorkerProperties.bind(Map.of("work-directory", dir.resolve("work"), "addon-wait", "100ms",
        "retry-backoff", "10ms", "heartbeat-interval", "50ms"));
    var store = new FilesystemArchiveStore(dir.resolve("archives"));
    BackstopProperties backstop = BackstopProperties.bind(Map.of("archive.encrypt", false));
    ledger = new JobLedger(database);
    job = new BackupJob(addons, ledger, new HostSlots(database), store, publisher, sealer,
        Map.of(Engine.MYSQL, new MysqlDumpEngine("mysqldump", "mysql", TIMEOUT),
            Engine.POSTGRESQL, new PostgresDumpEngine("pg_dump", "psql", TIMEOUT)),
        Map.of(Engine.MYSQL, new MysqlReplicaProbe("mysql", dir.resolve("work")),
            Engine.POSTGRESQL, new PostgresReplicaProbe("psql", dir.resolve("work"))),
        properties, Clock.systemUTC(), new ArchiveCipher(store, java.util.Base64.getDecoder().decode(SecretSealer.newBase64Key())),
        backstop);
    mysqlDatabase = LocalMariadb.createDatabase("backstop_hostile");
    LocalMariadb.sql(mysqlDatabase, "CREATE TABLE orders (id INT PRIMARY KEY); INSERT INTO orders VALUES (1), (2), (3)");
    outside = Path.of(System.getProperty("java.io.tmpdir"), "backstop-hostile-" + UUID.randomUUID());
  }

  @AfterEach
  void stop() throws Exception {
    LocalMariadb.dropDatabase(mysqlDatabase);
    Files.deleteIfExists(outside);
  }

  @Test
  void an_option_file_injection_through_the_password_fails_naming_the_password_and_writes_nothing_outside() throws Exception {
    String password = "x\npassword=\nresult-file=" + outside + "\n#";
    BackupFailed failed = backUpFails(Engine.MYSQL, addon -> addon.setPassword(sealer.seal(addon.getAddonId(), password)));

    assertThat(failed.getReason()).isEqualTo("invalid connection settings: password must not contain control characters or line breaks");
    assertThat(outside).doesNotExist();
  }

  @Test
  void a_newline_in_the_user_fails_naming_the_user() throws Exception {
    BackupFailed failed = backUpFails(Engine.MYSQL, addon -> addon.setUser(LocalMariadb.USER + "\nno-data"));

    assertThat(failed.getReason()).isEqualTo("invalid connection settings: user must not contain control characters or line breaks");
    assertThat(outside).doesNotExist();
  }

  @Test
  void a_database_named_like_an_option_fails_naming_the_database() throws Exception {
    for (String database : List.of("-A", "--all-databases")) {
      published.clear();
      BackupFailed failed = backUpFails(Engine.MYSQL, addon -> addon.setDatabase(database));

      assertThat(failed.getReason()).isEqualTo("invalid connection settings: database must not start with '-'");
    }
  }

  @Test
  void a_host_named_like_an_option_fails_naming_the_host_instead_of_dumping_localhost() throws Exception {
    BackupFailed failed = backUpFails(Engine.MYSQL, addon -> addon.setNodes(List.of(new DatabaseNode(NodeRole.PRIMARY, "-h", 3306))));

    assertThat(failed.getReason()).isEqualTo("invalid connection settings: host must not start with '-'");
    assertThat(published).noneMatch(BackupCompleted.class::isInstance);
  }

  @Test
  void a_postgresql_password_with_a_newline_fails_naming_the_password_not_a_path() throws Exception {
    BackupFailed failed = backUpFails(Engine.POSTGRESQL, addon -> {
      addon.setNodes(List.of(new DatabaseNode(NodeRole.PRIMARY, LocalPostgres.HOST, LocalPostgres.PORT)));
      addon.setUser(LocalPostgres.USER);
      addon.setDatabase("postgres");
      addon.setPassword(sealer.seal(addon.getAddonId(), "nl-one\nnl-two"));
    });

    assertThat(failed.getReason()).isEqualTo("invalid connection settings: password must not contain control characters or line breaks")
        .doesNotContain(dir.toString());
  }

  @Test
  void a_password_full_of_option_file_syntax_dumps_the_database() throws Exception {
    String password = " #;=\"'\\: pä ss ";
    String user = "backstop_hostile_u";
    String account = "'" + user + "'@'%'";
    try {
      LocalMariadb.sql(null, "DROP USER IF EXISTS " + account + "; CREATE USER " + account + " IDENTIFIED BY '"
          + password.replace("\\", "\\\\").replace("'", "''") + "'; GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON "
          + mysqlDatabase + ".* TO " + account);
      AddonSpec spec = spec(Engine.MYSQL);
      spec.setUser(user);
      spec.setPassword(sealer.seal(spec.getAddonId(), password));
      addons.upsert(spec, 1);

      run(new BackupRequested("hostile-ok", spec.getAddonId(), "app", BackupKind.MANUAL, java.time.Instant.now(), null, null, null));

      BackupCompleted completed = published.stream().filter(BackupCompleted.class::isInstance).map(BackupCompleted.class::cast)
          .findFirst().orElseThrow(() -> new AssertionError("not completed: " + published));
      assertThat(completed.getExpectedTables()).isEqualTo(1);
      assertThat(dumpIn(dir.resolve("archives").resolve(completed.getArchiveKey()))).contains("CREATE TABLE `orders`",
          "INSERT INTO `orders` VALUES");
    } finally {
      LocalMariadb.sql(null, "DROP USER IF EXISTS " + account);
    }
  }

  /** Registers a MySQL (or PostgreSQL) addon on the machine's server, alters it, backs it up, and returns its failure. */
  private BackupFailed backUpFails(Engine engine, Consumer<AddonSpec> alter) throws Exception {
    AddonSpec spec = spec(engine);
    alter.accept(spec);
    addons.upsert(spec, 1);

    run(new BackupRequested("hostile-" + UUID.randomUUID(), spec.getAddonId(), "app", BackupKind.MANUAL,
        java.time.Instant.now(), null, null, null));

    BackupFailed failed = published.stream().filter(BackupFailed.class::isInstance).map(BackupFailed.class::cast)
        .reduce((a, b) -> b).orElseThrow(() -> new AssertionError("no failure: " + published));
    assertThat(failed.getReason()).doesNotContain(dir.toString());
    try (var left = Files.list(dir.resolve("work"))) {
      assertThat(left).as("the job's folder is gone").isEmpty();
    } catch (java.nio.file.NoSuchFileException nothingEverWritten) {
      // no tool ran at all
    }
    return failed;
  }

  private AddonSpec spec(Engine engine) {
    AddonSpec spec = Events.addon("my-" + UUID.randomUUID().toString().substring(0, 8), "app", Plan.STARTER, 1, "UTC");
    spec.setEngine(engine);
    spec.setDatabase(mysqlDatabase);
    spec.setUser(LocalMariadb.USER);
    spec.setNodes(List.of(new DatabaseNode(NodeRole.PRIMARY, LocalMariadb.HOST, LocalMariadb.PORT)));
    spec.setPassword(sealer.seal(spec.getAddonId(), ""));
    return spec;
  }

  private static String dumpIn(Path archive) throws Exception {
    try (InputStream in = new TarArchiveInputStream(new ZstdInputStreamNoFinalizer(Files.newInputStream(archive)))) {
      var tar = (TarArchiveInputStream) in;
      var entry = tar.getNextEntry();
      while (entry != null && !entry.isFile()) {
        entry = tar.getNextEntry();
      }
      assertThat(entry).as("a dump in the archive").isNotNull();
      return new String(tar.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /** What the consumer does with a request, then what the runner does: records it and runs it until it ends. */
  private void run(BackupRequested request) throws InterruptedException {
    job.record(request);
    JobRunner runner = new JobRunner("backup", ledger, job::execute, 1, properties.instanceName(),
        properties.leaseDuration(), Duration.ofMillis(10), properties.retryBackoff(), Clock.systemUTC());
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (!ledger.over(request.getBackupId()) && System.nanoTime() < deadline) {
      if (!runner.runNext()) {
        Thread.sleep(20);
      }
    }
  }
}
