package dev.backstop.embedded;

import dev.backstop.worker.engine.RestoreEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Says which scratch server the restore tests of one engine's backups go to, and whether it answers: the
 * embedded mode restores into the machine's own servers by default, which a developer's machine may lack.
 */
final class RestoreServers {

  /** How long a server may take to answer before it counts as not reachable. */
  static final Duration PATIENCE = Duration.ofSeconds(10);

  private RestoreServers() {}

  /**
   * One line, e.g. {@code PostgreSQL 15.20 at postgres@127.0.0.1:5432 (found)}.
   *
   * @param engine the engine's name as a user knows it, e.g. {@code MySQL/MariaDB}
   * @param where the configured server, as {@code user@host:port}
   * @param settings where to change it, e.g. {@code BACKSTOP_VERIFIER_MYSQL_HOST/_PORT/_USER/_PASSWORD}
   * @param scratch a private folder the engine's client may write its credentials file into
   */
  static String describe(String engine, String where, String settings, RestoreEngine restores, Path scratch) {
    CompletableFuture<String> name = CompletableFuture.supplyAsync(() -> {
      try {
        Path probe = Files.createTempDirectory(scratch, "probe");
        try {
          return restores.serverName(probe);
        } finally {
          delete(probe);
        }
      } catch (RestoreEngine.ScratchServerException | IOException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    });
    String problem;
    try {
      return name.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS) + " at " + where + " (found)";
    } catch (ExecutionException e) {
      problem = e.getCause().getMessage();
    } catch (TimeoutException e) {
      problem = "no answer within " + PATIENCE.toSeconds() + " s";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problem = "interrupted";
    }
    return engine + " at " + where + ": not reachable (" + firstLine(problem) + "); restore tests of " + engine
        + " backups are tried again for about 20 minutes, then left not verified; point " + settings + " at one";
  }

  private static String firstLine(String message) {
    String line = message == null ? "no reason given" : message.strip().lines().findFirst().orElse("no reason given");
    return line.length() > 160 ? line.substring(0, 160) + "…" : line;
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }
}
