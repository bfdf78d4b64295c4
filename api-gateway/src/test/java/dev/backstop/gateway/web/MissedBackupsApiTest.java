package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.MissedFinding;
import java.net.http.HttpRequest.BodyPublishers;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The days the scheduler's watchdog reported missed reach the app's API from the topic, most recent
 * first, once each however often the report is delivered, and only for the app's own addon.
 */
class MissedBackupsApiTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private JsonNode missed(String app, String addonId) {
    Answer answer = send(asOperator("/v1/apps/" + app + "/addons/" + addonId + "/missed-backups").GET());
    assertThat(answer.status()).as(answer.body()).isEqualTo(200);
    return JSON.readTree(answer.body());
  }

  private static BackupMissed report(String day, MissedFinding finding, String backupId, String detail) {
    Instant due = Instant.parse(day + "T01:10:00Z");
    return new BackupMissed("missed-" + day, "pg-missed", "shop-missed", day, due, due.plus(Duration.ofHours(6)), finding,
        backupId, detail);
  }

  @Test
  void reported_days_are_listed_most_recent_first_once_each_and_only_for_the_apps_addon() {
    Answer registered = send(asOperator("/v1/addons/pg-missed").header("Content-Type", "application/json")
        .PUT(BodyPublishers.ofString("""
            {"appName":"shop-missed","engine":"postgresql","plan":"starter","database":"shop","user":"shop","password":"pw",
             "nodes":[{"role":"primary","host":"127.0.0.1","port":5432}]}""")));
    assertThat(registered.status()).as(registered.body()).isIn(200, 201);
    await().atMost(Duration.ofSeconds(30)).until(() -> send(asOperator("/v1/apps/shop-missed/addons/pg-missed/missed-backups").GET())
        .status() == 200);
    assertThat(missed("shop-missed", "pg-missed")).isEmpty();

    BackupMissed failed = report("2026-11-29", MissedFinding.REQUESTED_AND_FAILED, "0123456789abcdef01234567", "connection refused");
    publisher.publish(Topics.BACKUP_EVENTS, "pg-missed", failed);
    publisher.publish(Topics.BACKUP_EVENTS, "pg-missed", report("2026-11-30", MissedFinding.NEVER_REQUESTED, null, "no backup was requested"));
    // delivered again, as after a replay
    publisher.publish(Topics.BACKUP_EVENTS, "pg-missed", failed);

    await().atMost(Duration.ofSeconds(30)).until(() -> missed("shop-missed", "pg-missed").size() == 2);
    JsonNode days = missed("shop-missed", "pg-missed");
    assertThat(days.get(0).get("date").asString()).isEqualTo("2026-11-30");
    assertThat(days.get(0).get("finding").asString()).isEqualTo("never_requested");
    assertThat(days.get(0).get("backupId").isNull()).isTrue();
    assertThat(days.get(1).get("date").asString()).isEqualTo("2026-11-29");
    assertThat(days.get(1).get("finding").asString()).isEqualTo("requested_and_failed");
    assertThat(days.get(1).get("backupId").asString()).isEqualTo("0123456789abcdef01234567");
    assertThat(days.get(1).get("detail").asString()).isEqualTo("connection refused");
    assertThat(days.get(1).get("scheduledAt").asString()).isEqualTo("2026-11-29T01:10:00Z");

    Answer otherApp = send(asOperator("/v1/apps/another-app/addons/pg-missed/missed-backups").GET());
    assertThat(otherApp.status()).isEqualTo(404);
    assertThat(otherApp.header("content-type")).startsWith("application/problem+json");
  }
}
