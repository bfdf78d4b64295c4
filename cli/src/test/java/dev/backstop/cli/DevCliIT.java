package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./dev cli} as a user runs it from a directory of their own: the script changes to the
 * repository to find the jar, and the download must still land where the user is. Runs after
 * {@code package}, when the executable jar the script runs exists.
 */
class DevCliIT {

  private static final byte[] ARCHIVE = "archive bytes".repeat(100).getBytes(StandardCharsets.UTF_8);

  @TempDir Path caller;
  private HttpServer gateway;

  @BeforeEach
  void start() throws Exception {
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(ARCHIVE));
    String backup = "{\"id\":\"b-1\",\"createdAt\":\"2026-11-22T01:43:12Z\",\"size\":" + ARCHIVE.length
        + ",\"status\":\"done\",\"archiveName\":\"20261122014312_test.tar.zst\",\"sha256\":\"" + sha + "\"}";
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    gateway.createContext("/v1/apps/my-app/addons/pg/backups", exchange -> {
      boolean archive = exchange.getRequestURI().getPath().endsWith("/archive");
      byte[] body = archive ? ARCHIVE : ("[" + backup + "]").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  private Process devCli(String... args) throws IOException {
    Path dev = Path.of("..", "dev").toAbsolutePath().normalize();
    var command = new java.util.ArrayList<>(java.util.List.of("bash", dev.toString(), "cli", "--app", "my-app", "--addon", "pg"));
    command.addAll(java.util.List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(caller.toFile()).redirectErrorStream(true);
    builder.environment().put("BACKSTOP_API_URL", "http://127.0.0.1:" + gateway.getAddress().getPort());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    return builder.start();
  }

  private static String finish(Process process) throws Exception {
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as(output).isZero();
    return output;
  }

  @Test
  void a_download_lands_in_the_callers_directory_and_a_relative_output_is_read_from_there() throws Exception {
    Path repository = Path.of("..").toAbsolutePath().normalize();
    assertThat(Files.list(repository.resolve("cli/target")).map(p -> p.getFileName().toString()))
        .as("the executable jar ./dev cli runs").anyMatch(n -> n.startsWith("cli-") && n.endsWith("-exec.jar"));

    String output = finish(devCli("backups-download"));
    assertThat(output).endsWith("===> 20261122014312_test.tar.zst\n");
    assertThat(caller.resolve("20261122014312_test.tar.zst")).hasBinaryContent(ARCHIVE);
    assertThat(repository.resolve("20261122014312_test.tar.zst")).doesNotExist();

    Files.createDirectory(caller.resolve("saved"));
    finish(devCli("backups-download", "--output", "saved/latest.tar.zst"));
    assertThat(caller.resolve("saved/latest.tar.zst")).hasBinaryContent(ARCHIVE);
    assertThat(repository.resolve("saved")).doesNotExist();
  }
}
