package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.gateway.backups.BackupListing.Stage;
import dev.backstop.gateway.backups.BackupWatch;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupStarted;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET …/backups/{id}} names its view with an ETag, and with {@code wait} and {@code If-None-Match}
 * holds the request until that view changes: a status the consumers record, a progress report, or a
 * change another gateway instance recorded in the shared listing. How the CLI waits for a backup to end.
 */
class BackupLongPollTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String APP = "shop-watch";

  @Autowired BackupListing listing;
  @Autowired BackupWatch watch;

  private String register(String addonId) {
    Answer registered = send(asOperator("/v1/addons/" + addonId).header("Content-Type", "application/json")
        .PUT(BodyPublishers.ofString("""
            {"appName":"%s","engine":"postgresql","plan":"starter","database":"shop","user":"shop","password":"pw",
             "nodes":[{"role":"primary","host":"127.0.0.1","port":5432}]}""".formatted(APP))));
    assertThat(registered.status()).as(registered.body()).isIn(200, 201);
    await().atMost(Duration.ofSeconds(30)).until(() -> send(asOperator(backups(addonId)).GET()).status() == 200);
    Answer created = send(asOperator(backups(addonId)).POST(BodyPublishers.noBody()));
    assertThat(created.status()).as(created.body()).isEqualTo(202);
    return JSON.readTree(created.body()).get("id").asString();
  }

  private static String backups(String addonId) {
    return "/v1/apps/" + APP + "/addons/" + addonId + "/backups";
  }

  private CompletableFuture<HttpResponse<String>> waitFor(String path, String etag, int seconds) {
    return http.sendAsync(asOperator(path + "?wait=" + seconds).header("If-None-Match", etag).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode body(HttpResponse<String> response) {
    return JSON.readTree(response.body());
  }

  @Test
  void a_waiting_request_is_answered_as_soon_as_the_backup_changes_and_with_304_when_nothing_did() throws Exception {
    String addonId = "pg-watch";
    String id = register(addonId);
    String path = backups(addonId) + "/" + id;

    Answer pending = send(asOperator(path).GET());
    assertThat(pending.status()).isEqualTo(200);
    String tag = pending.header("etag");
    assertThat(tag).matches("\"[0-9a-f]{32}\"");
    Answer unchanged = send(asOperator(path).header("If-None-Match", tag).GET());
    assertThat(unchanged.status()).isEqualTo(304);
    assertThat(unchanged.header("etag")).isEqualTo(tag);

    // the worker takes it: the consumer records the start, and the held request is answered with it
    var started = waitFor(path, tag, 30);
    await().atMost(Duration.ofSeconds(10)).until(() -> watch.waiting() == 1);
    assertThat(started).as("nothing changed yet: the request waits").isNotDone();
    Instant now = Instant.now();
    publisher.publish(Topics.BACKUP_EVENTS, addonId,
        new BackupStarted(id, addonId, APP, BackupKind.MANUAL, now, now, "PRIMARY@127.0.0.1:5432", "starter plan", "w1"));
    HttpResponse<String> running = started.get(20, TimeUnit.SECONDS);
    assertThat(running.statusCode()).isEqualTo(200);
    assertThat(body(running).get("status").asString()).isEqualTo("running");
    String runningTag = running.headers().firstValue("etag").orElseThrow();
    assertThat(runningTag).isNotEqualTo(tag);

    // a progress report changes the view too
    var reported = waitFor(path, runningTag, 30);
    publisher.publish(Topics.BACKUP_PROGRESS, addonId,
        new BackupProgress(id, addonId, APP, now.plusSeconds(5), 12_000_000L, 3_100_000L, 1, "w1", null, null, null, null));
    HttpResponse<String> progressed = reported.get(20, TimeUnit.SECONDS);
    assertThat(progressed.statusCode()).isEqualTo(200);
    assertThat(body(progressed).get("progress").get("dumpedBytes").asLong()).isEqualTo(12_000_000L);
    String progressTag = progressed.headers().firstValue("etag").orElseThrow();

    // nothing changes within the wait: 304, naming the view the client still has
    HttpResponse<String> over = waitFor(path, progressTag, 1).get(20, TimeUnit.SECONDS);
    assertThat(over.statusCode()).isEqualTo(304);
    assertThat(over.headers().firstValue("etag")).hasValue(progressTag);

    // a tag that no longer names the view is answered at once
    HttpResponse<String> stale = waitFor(path, tag, 30).get(5, TimeUnit.SECONDS);
    assertThat(stale.statusCode()).isEqualTo(200);
    assertThat(stale.headers().firstValue("etag")).hasValue(progressTag);

    // another gateway instance's consumer recorded the end in the shared listing: found by the watch's regular look
    var ended = waitFor(path, progressTag, 30);
    await().atMost(Duration.ofSeconds(10)).until(() -> watch.waiting() == 1);
    listing.advance(id, BackupListing.Status.DONE, Stage.requested(addonId, APP, "MANUAL", now)
        .started("PRIMARY@127.0.0.1:5432", "starter plan", now)
        .completed(958L, "ab".repeat(32), addonId + "/" + id + "/x.tar.zst", "x.tar.zst", now.plusSeconds(9)));
    HttpResponse<String> done = ended.get(20, TimeUnit.SECONDS);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(body(done).get("status").asString()).isEqualTo("done");
    await().atMost(Duration.ofSeconds(5)).until(() -> watch.waiting() == 0);
  }

  @Test
  void a_wait_that_is_not_a_number_of_seconds_from_1_to_55_is_refused_and_an_unknown_backup_is_not_found() {
    String addonId = "pg-watch-bad";
    String id = register(addonId);
    String path = backups(addonId) + "/" + id;
    String tag = send(asOperator(path).GET()).header("etag");
    for (String wait : new String[] {"soon", "0", "56", "-1", "1.5", "", "99999999999"}) {
      Answer refused = send(asOperator(path + "?wait=" + wait).header("If-None-Match", tag).GET());
      assertThat(refused.status()).as(wait).isEqualTo(400);
      assertThat(refused.header("content-type")).startsWith("application/problem+json");
      assertThat(JSON.readTree(refused.body()).get("detail").asString())
          .isEqualTo("wait must be a whole number of seconds from 1 to 55 (got '" + wait + "')");
    }
    Answer unknown = send(asOperator(backups(addonId) + "/0123456789abcdef01234567?wait=5").GET());
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(watch.waiting()).isZero();
    assertThat(send(asOperator(path).GET()).header("etag")).isEqualTo(tag);
  }
}
