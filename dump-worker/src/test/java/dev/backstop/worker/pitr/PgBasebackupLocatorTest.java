package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which pg_basebackup backs up a server: the lowest installed major at or above the server's. */
class PgBasebackupLocatorTest {

  @TempDir Path root;

  @Test
  void the_lowest_installed_major_at_or_above_the_servers_is_chosen_and_none_when_all_are_older() throws IOException {
    install("13");
    install("15");
    install("17");
    Files.createDirectories(root.resolve("16/bin")); // a major without its client tools
    var locator = new PgBasebackupLocator(root, "/nonexistent/pg_basebackup");

    assertThat(locator.locate(14)).contains(root.resolve("15/bin/pg_basebackup").toString());
    assertThat(locator.locate(15)).contains(root.resolve("15/bin/pg_basebackup").toString());
    assertThat(locator.locate(16)).contains(root.resolve("17/bin/pg_basebackup").toString());
    assertThat(locator.locate(18)).isEmpty();
  }

  @Test
  void without_per_major_folders_the_one_on_path_serves_servers_up_to_its_own_major() {
    var locator = new PgBasebackupLocator(root.resolve("absent"), "pg_basebackup");
    int installed = Integer.parseInt(new String(run("pg_basebackup", "--version")).replaceAll("(?s).*\\(PostgreSQL\\) (\\d+).*", "$1"));
    assertThat(locator.locate(installed)).contains("pg_basebackup");
    assertThat(locator.locate(installed + 1)).isEmpty();
  }

  private void install(String major) throws IOException {
    Path bin = Files.createDirectories(root.resolve(major + "/bin")).resolve("pg_basebackup");
    Files.writeString(bin, "#!/bin/sh\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static byte[] run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      p.waitFor();
      return out;
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
