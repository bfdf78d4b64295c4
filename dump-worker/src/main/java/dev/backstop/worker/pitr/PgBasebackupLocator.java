package dev.backstop.worker.pitr;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds a {@code pg_basebackup} able to back up a server of a given major version: one of the same major
 * or newer (an older one refuses a newer server; a newer one reads every older server from 9.1 on). The
 * lowest such version wins. Debian and Ubuntu install each major under {@code /usr/lib/postgresql/<N>/bin};
 * elsewhere the one on {@code PATH} is used if its {@code --version} is new enough.
 *
 * <p>A locator of the same kind for {@code pg_dump} may exist in {@code postgres/}: the two belong together.
 */
public final class PgBasebackupLocator {

  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)");

  private final Path root;
  private final String onPath;

  /** @param root the folder holding one folder per major version ({@code /usr/lib/postgresql}) */
  public PgBasebackupLocator(Path root, String onPath) {
    this.root = root;
    this.onPath = onPath;
  }

  public static PgBasebackupLocator standard() {
    return new PgBasebackupLocator(Path.of("/usr/lib/postgresql"), "pg_basebackup");
  }

  /** The executable for a server of {@code serverMajor}, or empty when none installed is new enough. */
  public Optional<String> locate(int serverMajor) {
    if (Files.isDirectory(root)) {
      try (Stream<Path> majors = Files.list(root)) {
        Optional<Path> found = majors
            .filter(dir -> dir.getFileName().toString().matches("\\d{1,3}"))
            .filter(dir -> Integer.parseInt(dir.getFileName().toString()) >= serverMajor)
            .map(dir -> dir.resolve("bin/pg_basebackup"))
            .filter(Files::isExecutable)
            .min(Comparator.comparingInt(bin -> Integer.parseInt(bin.getParent().getParent().getFileName().toString())));
        if (found.isPresent()) {
          return found.map(Path::toString);
        }
      } catch (IOException e) {
        // an unreadable folder: the one on PATH may still do
      }
    }
    return majorOf(onPath).filter(major -> major >= serverMajor).map(major -> onPath);
  }

  private static Optional<Integer> majorOf(String executable) {
    try {
      Process process = new ProcessBuilder(executable, "--version").redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        return Optional.empty();
      }
      Matcher m = VERSION.matcher(out);
      return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
