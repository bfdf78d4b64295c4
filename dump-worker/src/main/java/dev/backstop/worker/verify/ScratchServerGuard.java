package dev.backstop.worker.verify;

import dev.backstop.worker.engine.RestoreEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps restore tests off servers that hold databases other than the server's own and the scratch ones
 * ({@code backstop.verifier.database-prefix}): a customer's server taken for the scratch server by
 * mistake, or a shared one. Asked before each test, since databases come and go; when the answer is
 * no, the test is not run (the backup stays "not verified"), and an ERROR says why and what to change.
 * {@code backstop.verifier.allow-shared-server=true} allows it, with a WARN: for development machines
 * and the test suite, whose local servers hold a {@code test} database.
 */
final class ScratchServerGuard {

  private static final Logger log = LoggerFactory.getLogger(ScratchServerGuard.class);

  private final String scratchPrefix;
  private final boolean allowShared;
  private final Path workDirectory;
  /** The last list logged per engine, so that a refusal is logged when it changes, not on every completion. */
  private final Map<RestoreEngine, List<String>> logged = new ConcurrentHashMap<>();

  ScratchServerGuard(String scratchPrefix, boolean allowShared, Path workDirectory) {
    this.scratchPrefix = scratchPrefix;
    this.allowShared = allowShared;
    this.workDirectory = workDirectory;
  }

  /**
   * Whether restore tests may run on {@code engine}'s scratch server.
   *
   * @throws RestoreEngine.ScratchServerException the server could not be asked (its trouble, retried)
   */
  boolean permits(RestoreEngine engine) throws RestoreEngine.ScratchServerException, IOException {
    Files.createDirectories(workDirectory);
    Path scratch = Files.createTempDirectory(workDirectory, "scratch-check-");
    List<String> others;
    try {
      others = engine.otherDatabases(scratchPrefix, scratch);
    } finally {
      deleteTree(scratch);
    }
    if (others.isEmpty()) {
      logged.remove(engine);
      return true;
    }
    if (!others.equals(logged.put(engine, others))) {
      String names = others.size() <= 5 ? String.join(", ", others) : String.join(", ", others.subList(0, 5)) + ", …";
      if (allowShared) {
        log.warn("restore tests run on a scratch server that also holds {} other database(s) ({}): allowed by "
            + "backstop.verifier.allow-shared-server=true; never point it at a server holding customers' data", others.size(), names);
      } else {
        log.error("restore tests are NOT run: their scratch server holds {} database(s) that are neither its own nor "
            + "scratch ones ({}), so it may be a customer's or a shared server, where a restore must not run. Point "
            + "backstop.verifier.postgresql.* / backstop.verifier.mysql.* at a server of Backstop's own, or set "
            + "backstop.verifier.allow-shared-server=true if that server is meant to be shared", others.size(), names);
      }
    }
    return allowShared;
  }

  /** Asks each engine's server once, so that a refusal is in the log from the start; an unreachable one is asked at its first test. */
  void checkAtStartup(Iterable<RestoreEngine> engines) {
    for (RestoreEngine engine : engines) {
      try {
        permits(engine);
      } catch (RestoreEngine.ScratchServerException | IOException | RuntimeException e) {
        log.info("scratch server not checked at startup ({}): checked before its first restore test", e.getMessage());
      }
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // scratch space
    }
  }
}
