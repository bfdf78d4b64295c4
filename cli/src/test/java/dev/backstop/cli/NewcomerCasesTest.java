package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZoneId;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a newcomer ran into with the CLI (issue #20), against a stand-in for the gateway that answers
 * what each case needs: help without the options a call needs, backups that cannot be downloaded,
 * local files that are not the backup, a backup no worker takes, and URLs that cannot work.
 */
class NewcomerCasesTest {

  private static final byte[] ARCHIVE = "a tar.zst archive, or bytes standing for one".repeat(50).getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;
  private HttpServer gateway;
  /** The Range header of each archive request ("" for none). */
  private final List<String> archiveRequests = new CopyOnWriteArrayList<>();
  private final AtomicInteger backupPolls = new AtomicInteger();
  private volatile String listBody = "[]";
  private volatile List<String> backupStates = List.of();
  /** Whether the stub names each state with an ETag and holds {@code ?wait=} requests, as the gateway does. */
  private volatile boolean longPolls;
  /** Each request for the backup: its query and If-None-Match. */
  private final List<String> backupRequests = new CopyOnWriteArrayList<>();
  private final AtomicInteger shown = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    gateway.createContext("/v1/apps/my-app/addons/pg/backups", exchange -> {
      String path = exchange.getRequestURI().getPath();
      if (path.endsWith("/backups") && exchange.getRequestMethod().equals("POST")) {
        answer(exchange, 202, "{\"id\":\"b-new\"}");
      } else if (path.endsWith("/backups")) {
        answer(exchange, 200, listBody);
      } else if (path.endsWith("/archive")) {
        String range = exchange.getRequestHeaders().getFirst("Range");
        archiveRequests.add(range == null ? "" : range);
        int from = range == null ? 0 : Integer.parseInt(range.replaceAll("\\D", ""));
        exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
        exchange.sendResponseHeaders(range == null ? 200 : 206, ARCHIVE.length - from);
        exchange.getResponseBody().write(ARCHIVE, from, ARCHIVE.length - from);
        exchange.close();
      } else if (longPolls) {
        longPoll(exchange);
      } else {
        String id = path.substring(path.lastIndexOf('/') + 1);
        int poll = backupPolls.getAndIncrement();
        answer(exchange, 200, backupStates.isEmpty() ? done(id) : backupStates.get(Math.min(poll, backupStates.size() - 1)));
      }
    });
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.stop(0);
  }

  /**
   * State N is named {@code "sN"}; a wait naming the state shown last is answered with the next one, except
   * the second such wait, which runs out (304) as when nothing changes within it.
   */
  private void longPoll(HttpExchange exchange) throws IOException {
    String query = exchange.getRequestURI().getQuery();
    String ifNoneMatch = exchange.getRequestHeaders().getFirst("If-None-Match");
    backupRequests.add(query + " " + ifNoneMatch);
    int current = shown.get();
    if (query != null && ("\"s" + current + "\"").equals(ifNoneMatch)) {
      if (backupRequests.size() == 3) {
        exchange.getResponseHeaders().add("ETag", ifNoneMatch);
        exchange.sendResponseHeaders(304, -1);
        exchange.close();
        return;
      }
      current = shown.incrementAndGet();
    }
    exchange.getResponseHeaders().add("ETag", "\"s" + current + "\"");
    answer(exchange, 200, backupStates.get(Math.min(current, backupStates.size() - 1)));
  }

  private static void answer(HttpExchange exchange, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  private static String done(String id) {
    return "{\"id\":\"" + id + "\",\"createdAt\":\"2026-11-22T01:43:12Z\",\"size\":" + ARCHIVE.length + ",\"status\":\"done\","
        + "\"archiveName\":\"20261122014312_test.tar.zst\",\"sha256\":\"" + sha256(ARCHIVE) + "\"}";
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private record Run(int exit, String out, String err) {}

  private Run runAt(String url, String... args) {
    return runAt(url, Duration.ofMillis(20), args);
  }

  private Run runAt(String url, Duration poll, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = BackstopCli.run(args, Map.of("BACKSTOP_API_URL", url), ZoneId.of("Europe/Paris"), poll,
        new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(exit, out.toString(), err.toString());
  }

  private Run run(String... args) {
    return runAt("http://127.0.0.1:" + gateway.getAddress().getPort(), args);
  }

  @Test
  void a_subcommands_help_needs_neither_app_nor_addon_and_names_the_environment() {
    Run help = run("backups-download", "--help");
    assertThat(help.exit()).as(help.err()).isZero();
    assertThat(help.out()).contains("--backup", "--output", "BACKSTOP_API_URL", "BACKSTOP_TOKEN");
    assertThat(help.err()).isEmpty();

    Run createHelp = run("backups-create", "-h");
    assertThat(createHelp.exit()).isZero();
    assertThat(createHelp.out()).contains("--wait-timeout", "default: 1h");

    Run top = run("--help");
    assertThat(top.exit()).isZero();
    assertThat(top.out()).contains("backups-download", "Environment:", "BACKSTOP_API_URL", "BACKSTOP_TOKEN");
  }

  @Test
  void a_command_without_app_says_so_and_calls_nothing() {
    Run noApp = run("--addon", "pg", "backups");
    assertThat(noApp.exit()).isEqualTo(2);
    assertThat(noApp.err()).contains("Missing required option: '--app=<app>'");
  }

  @Test
  void downloading_a_failed_backup_says_why_it_failed_and_writes_nothing() {
    backupStates = List.of("{\"id\":\"b-1\",\"status\":\"failed\",\"reason\":\"connection refused by 10.0.0.1:5432\","
        + "\"size\":null,\"archiveName\":null,\"sha256\":null}");
    Run run = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-1", "--output", dir.toString());

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).isEqualTo(" !     backup b-1 failed: connection refused by 10.0.0.1:5432; nothing to download\n");
    assertThat(archiveRequests).isEmpty();
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void downloading_a_running_backup_says_it_is_still_running() {
    backupStates = List.of("{\"id\":\"b-2\",\"status\":\"running\",\"size\":null,\"archiveName\":null,\"sha256\":null}");
    Run run = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-2", "--output", dir.toString());

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).startsWith(" !     backup b-2 is still running; nothing to download yet");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void an_output_directory_receives_the_archive_under_its_own_name() {
    Run run = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-3", "--output", dir.toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(dir.resolve("20261122014312_test.tar.zst")).hasBinaryContent(ARCHIVE);
    assertThat(run.out()).endsWith("===> 20261122014312_test.tar.zst\n");
  }

  @Test
  void a_corrupt_local_file_of_the_right_size_is_fetched_again_whole() throws IOException {
    Path file = dir.resolve("backup.tar.zst");
    byte[] corrupt = ARCHIVE.clone();
    corrupt[100] ^= 0x20;
    Files.write(file, corrupt);

    Run run = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-4", "--output", file.toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(file).hasBinaryContent(ARCHIVE);
    assertThat(archiveRequests).containsExactly("");
    assertThat(run.err()).contains("does not match the backup's SHA-256: downloading it again");

    // and a second run finds it whole: nothing is fetched
    Run again = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-4", "--output", file.toString());
    assertThat(again.exit()).isZero();
    assertThat(archiveRequests).hasSize(1);
  }

  @Test
  void a_partial_file_that_is_not_this_backup_is_fetched_again_from_the_start() throws IOException {
    Path file = dir.resolve("backup.tar.zst");
    byte[] other = "some other backup's first bytes".getBytes(StandardCharsets.UTF_8);
    Files.write(file, other);

    Run run = run("--app", "my-app", "--addon", "pg", "backups-download", "--backup", "b-5", "--output", file.toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(file).hasBinaryContent(ARCHIVE);
    assertThat(archiveRequests).containsExactly("bytes=" + other.length + "-", "");
  }

  @Test
  void a_backup_no_worker_takes_times_out_with_progress_and_a_clear_reason() {
    backupStates = List.of("{\"id\":\"b-new\",\"status\":\"pending\"}");
    long start = System.nanoTime();
    Run run = run("--app", "my-app", "--addon", "pg", "backups-create", "--wait-timeout", "300ms");

    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).contains("backup b-new requested, waiting for it to end (up to 300 ms)")
        .contains("waiting for a dump worker to take it")
        .endsWith(" !     backup b-new is still waiting for a dump worker after 300 ms: is one running?"
            + " The request stays queued; follow it with `backups`\n");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void a_backup_that_runs_then_ends_shows_its_progress_on_stderr_and_the_reference_line_on_stdout() {
    backupStates = List.of(
        "{\"id\":\"b-new\",\"status\":\"pending\"}",
        "{\"id\":\"b-new\",\"status\":\"running\",\"progress\":{\"dumpedBytes\":12000000,\"storedBytes\":3100000,\"attempt\":1}}",
        done("b-new"));
    Run run = run("--app", "my-app", "--addon", "pg", "backups-create");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).isEqualTo("-----> Backup successfully finished\n");
    assertThat(run.err()).contains("waiting for a dump worker to take it").contains("running: 12 MB dumped, 3.1 MB stored");
  }

  @Test
  @Timeout(30)
  void a_gateway_that_names_its_views_is_asked_to_answer_when_the_backup_changes_not_asked_again_and_again() {
    longPolls = true;
    backupStates = List.of(
        "{\"id\":\"b-new\",\"status\":\"pending\"}",
        "{\"id\":\"b-new\",\"status\":\"running\",\"progress\":{\"dumpedBytes\":12000000,\"storedBytes\":3100000,\"attempt\":1}}",
        done("b-new"));
    // a poll of an hour: had the CLI slept between requests, the test would run out of its time
    Run run = runAt("http://127.0.0.1:" + gateway.getAddress().getPort(), Duration.ofHours(1),
        "--app", "my-app", "--addon", "pg", "backups-create");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).isEqualTo("-----> Backup successfully finished\n");
    assertThat(run.err()).contains("waiting for a dump worker to take it").contains("running: 12 MB dumped, 3.1 MB stored");
    // the first look, then waits of a status line's length naming the view last shown, one of which ran out (304)
    assertThat(backupRequests).containsExactly("null null", "wait=15 \"s0\"", "wait=15 \"s1\"", "wait=15 \"s1\"");
  }

  @Test
  void a_wait_timeout_that_is_not_a_duration_is_refused() {
    Run run = run("--app", "my-app", "--addon", "pg", "backups-create", "--wait-timeout", "soon");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("'soon' is not a duration");
    assertThat(backupPolls).hasValue(0);
  }

  @Test
  void a_url_without_a_scheme_is_refused_with_what_to_write() {
    Run run = runAt("127.0.0.1:8080", "--app", "my-app", "--addon", "pg", "backups");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).isEqualTo(" !     BACKSTOP_API_URL must start with http:// or https:// and name a host, e.g. "
        + "http://127.0.0.1:8080 (got '127.0.0.1:8080')\n");
  }

  @Test
  void a_url_ending_in_v1_means_the_api_root() {
    Run run = runAt("http://127.0.0.1:" + gateway.getAddress().getPort() + "/v1/", "--app", "my-app", "--addon", "pg", "backups");
    assertThat(run.exit()).as(run.err()).isZero();
  }

  @Test
  void an_unknown_host_is_named() {
    Run run = runAt("http://no-such-host.invalid:8080", "--app", "my-app", "--addon", "pg", "backups");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).isEqualTo(" !     cannot reach the Backstop API at http://no-such-host.invalid:8080: unknown host "
        + "no-such-host.invalid; set BACKSTOP_API_URL\n");
  }

  @Test
  void a_refused_connection_says_so() throws IOException {
    int port;
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Run run = runAt("http://127.0.0.1:" + port, "--app", "my-app", "--addon", "pg", "backups");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains("cannot reach the Backstop API at http://127.0.0.1:" + port + ": connection refused");
  }

  @Test
  void an_empty_listing_prints_the_header_and_its_closing_rule() {
    listBody = "[]";
    Run run = run("--app", "my-app", "--addon", "pg", "backups");

    assertThat(run.exit()).isZero();
    assertThat(run.out()).isEqualTo("""
        +----+--------------------------------+------+--------+
        | ID |           CREATED AT           | SIZE | STATUS |
        +----+--------------------------------+------+--------+
        +----+--------------------------------+------+--------+
        """);
  }
}
