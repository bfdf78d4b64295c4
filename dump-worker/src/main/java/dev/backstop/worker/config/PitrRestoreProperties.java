package dev.backstop.worker.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Point-in-time restores ({@code backstop.worker.pitr-restore.*}, docs/pitr-design.md §7).
 *
 * @param binaries where the PostgreSQL server binaries of a major version are; {@code {major}} is replaced
 *     by the base's major version (a restore needs the same major as the archived server)
 * @param runAs the user the scratch server runs as when the worker runs as root (PostgreSQL refuses root);
 *     ignored when the worker is not root (the server then runs as the worker's user)
 * @param concurrentRestores restores this worker runs at once (each holds a scratch server and a data
 *     directory the size of the database); more wait their turn in the queue
 * @param lookahead WAL segments fetched ahead of replay (each takes a segment's size on disk)
 * @param fetchThreads threads fetching WAL segments ahead
 * @param recoveryTimeout a recovery still running after this fails the restore
 */
@Validated
@ConfigurationProperties("backstop.worker.pitr-restore")
public record PitrRestoreProperties(
    @NotBlank @DefaultValue("/usr/lib/postgresql/{major}/bin") String binaries,
    @NotBlank @DefaultValue("postgres") String runAs,
    @Min(1) @DefaultValue("1") int concurrentRestores,
    @Min(1) @Max(64) @DefaultValue("8") int lookahead,
    @Min(1) @Max(16) @DefaultValue("2") int fetchThreads,
    @NotNull @DefaultValue("6h") Duration recoveryTimeout) {

  /** The user the scratch server runs as, or null: this process's own when it is not root. */
  public String serverUser() {
    return "root".equals(System.getProperty("user.name")) ? runAs : null;
  }

  public static PitrRestoreProperties bind(Map<String, ?> settings) {
    return Settings.bind("backstop.worker.pitr-restore", settings, PitrRestoreProperties.class);
  }
}
