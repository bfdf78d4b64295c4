package dev.backstop.worker.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.kit.archive.ArchiveFormat;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsBindingTest {

  private final Validator validator = Validation.buildDefaultValidatorFactory().getValidator();

  @Test
  void nothing_configured_binds_every_documented_default() {
    WorkerProperties worker = WorkerProperties.bind(Map.of());
    assertThat(worker.dumpTimeout()).isEqualTo(Duration.ofHours(6));
    assertThat(worker.dumpStallTimeout()).isEqualTo(Duration.ofMinutes(10));
    assertThat(worker.dumpAttempts()).isEqualTo(3);
    assertThat(worker.retryBackoff()).isEqualTo(Duration.ofSeconds(30));
    assertThat(worker.leaseDuration()).isEqualTo(Duration.ofSeconds(30));
    assertThat(worker.heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(worker.pollInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(worker.dumpsPerHost()).isEqualTo(2);
    assertThat(worker.archiveFormat()).isEqualTo(ArchiveFormat.ZSTD);
    assertThat(worker.compressionLevel()).isEqualTo(1);
    assertThat(worker.fallBackToPrimary()).isTrue();
    assertThat(worker.instanceName()).contains("@");
    assertThat(worker.dumpOutputBuffer().toKilobytes()).isEqualTo(64);
    assertThat(validator.validate(WorkerProperties.bind(Map.of("dump-output-buffer", "0")))).isEmpty();
    assertThat(validator.validate(WorkerProperties.bind(Map.of("dump-output-buffer", "100B")))).hasSize(1);
    assertThat(validator.validate(WorkerProperties.bind(Map.of("dump-output-buffer", "1GB")))).hasSize(1);
    assertThat(validator.validate(worker)).isEmpty();

    VerifierProperties verifier = VerifierProperties.bind(Map.of());
    assertThat(verifier.enabled()).isTrue();
    assertThat(verifier.attempts()).isEqualTo(8);
    assertThat(verifier.pgRestoreJobs()).isEqualTo(2);
    assertThat(verifier.spoolMinFreeSpace().toBytes()).isEqualTo(1L << 30);
    assertThat(verifier.restoreMaintenanceWorkMem().toMegabytes()).isEqualTo(256);
    assertThat(verifier.mysqlConnections()).isEqualTo(2);
    // the row splitter feeds two clients at most
    assertThat(validator.validate(VerifierProperties.bind(Map.of("mysql-connections", "3")))).hasSize(1);
    assertThat(verifier.postgresql().toString()).isEqualTo("postgres@127.0.0.1:5432");
    assertThat(verifier.postgresql().maintenanceDatabase()).isEqualTo("postgres");
    assertThat(verifier.mysql().toString()).isEqualTo("root@127.0.0.1:3306");
    assertThat(validator.validate(verifier)).isEmpty();
  }

  @Test
  void gzip_without_a_level_takes_gzips_default_level() {
    assertThat(WorkerProperties.bind(Map.of("archive-format", "gzip")).compressionLevel()).isEqualTo(6);
    assertThat(WorkerProperties.bind(Map.of("archive-format", "gzip", "compression-level", "3")).compressionLevel()).isEqualTo(3);
  }

  @Test
  void a_scratch_server_given_only_its_password_keeps_its_engines_defaults_for_the_rest() {
    VerifierProperties verifier = VerifierProperties.bind(Map.of("postgresql.password", "s3cret", "mysql.port", "3307"));
    assertThat(verifier.postgresql().host()).isEqualTo("127.0.0.1");
    assertThat(verifier.postgresql().user()).isEqualTo("postgres");
    assertThat(verifier.postgresql().password()).isEqualTo("s3cret");
    assertThat(verifier.mysql().port()).isEqualTo(3307);
    assertThat(verifier.mysql().user()).isEqualTo("root");
  }

  /** Binds as Spring does at start-up: each record validated as it is bound, nested ones included. */
  private <T> T bindValidated(String prefix, Map<String, String> settings, Class<T> type) {
    var source = new org.springframework.boot.context.properties.source.MapConfigurationPropertySource(settings);
    return new org.springframework.boot.context.properties.bind.Binder(source).bindOrCreate(prefix,
        org.springframework.boot.context.properties.bind.Bindable.of(type),
        new org.springframework.boot.context.properties.bind.validation.ValidationBindHandler(
            new org.springframework.validation.beanvalidation.SpringValidatorAdapter(validator)));
  }

  @Test
  void a_scratch_server_given_only_its_host_and_password_passes_start_up_validation() {
    // what docker-compose.yml gives the worker: BACKSTOP_VERIFIER_POSTGRESQL_HOST and _PASSWORD only
    VerifierProperties verifier = bindValidated("backstop.verifier", Map.of("backstop.verifier.postgresql.host", "scratch-postgres",
        "backstop.verifier.postgresql.password", "pw", "backstop.verifier.mysql.host", "scratch-mariadb"), VerifierProperties.class);
    assertThat(verifier.postgresql().toString()).isEqualTo("postgres@scratch-postgres:5432");
    assertThat(verifier.mysql().toString()).isEqualTo("root@scratch-mariadb:3306");

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> bindValidated("backstop.verifier",
        Map.of("backstop.verifier.postgresql.user", " "), VerifierProperties.class))
        .hasStackTraceContaining("backstop.verifier.postgresql.user");
  }

  @Test
  void out_of_range_settings_are_refused() {
    assertThat(validator.validate(WorkerProperties.bind(Map.of("dump-attempts", "0", "compression-level", "20"))))
        .extracting(v -> v.getPropertyPath().toString()).containsExactlyInAnyOrder("dumpAttempts", "compressionLevel");
    assertThat(validator.validate(VerifierProperties.bind(Map.of("database-prefix", "Bad-Prefix", "mysql.port", "70000"))))
        .extracting(v -> v.getPropertyPath().toString()).containsExactlyInAnyOrder("databasePrefix", "mysql.port");
  }
}
