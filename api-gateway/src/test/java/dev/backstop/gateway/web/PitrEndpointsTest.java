package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.PitrBaseInfo;
import dev.backstop.schemas.events.PitrBaseRef;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.testing.Events;
import java.net.http.HttpRequest.BodyPublishers;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The point-in-time recovery window through HTTP, built from events on the real broker: starting before
 * the wal-archiver says anything, then its newest window (an older event changes nothing); base backups
 * for operators only, never in the customer's listing; Sandbox and MySQL unavailable; unknown addons 404.
 */
class PitrEndpointsTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Instant T = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minus(Duration.ofHours(1));

  private void register(String addonId, String engine, String plan) {
    Answer answer = send(asOperator("/v1/addons/" + addonId).header("Content-Type", "application/json").PUT(BodyPublishers.ofString("""
        {"appName":"pitr-app","engine":"%s","plan":"%s","database":"shop","user":"shop",
         "password":"s3cret","nodes":[{"role":"primary","host":"db.example","port":5432}],
         "schedule":{"enabled":true,"hour":3,"timezone":"UTC"}}""".formatted(engine, plan))));
    assertThat(answer.status()).as(answer.body()).isIn(200, 201);
  }

  private JsonNode get(String path) {
    Answer answer = send(asOperator(path));
    assertThat(answer.status()).as(answer.body()).isEqualTo(200);
    return JSON.readTree(answer.body());
  }

  private static void publish(String topic, SpecificRecord... events) {
    Events.publish(bootstrapServers(), topic, List.of(events), e -> "pitr-pg");
  }

  private static PitrWindowChanged window(PitrState state, Instant earliest, Instant latest, Instant at) {
    return new PitrWindowChanged("pitr-pg", state, earliest, latest, null, null, null, 7315011412336574321L,
        List.of(new PitrBaseRef("base-1", T.plusSeconds(29), 1, 0x4000028L, 0x4000100L)), at);
  }

  @Test
  void the_window_starts_then_follows_the_newest_event_and_base_backups_are_shown_to_operators_only() {
    register("pitr-pg", "postgresql", "starter");
    assertThat(get("/v1/apps/pitr-app/addons/pitr-pg/pitr").path("state").asString()).isEqualTo("starting");

    publish(Topics.BACKUP_EVENTS,
        new BackupStarted("base-1", "pitr-pg", "pitr-app", BackupKind.PITR_BASE, T, T, "PRIMARY@db.example:5432", "starter plan", "w1"),
        new BackupCompleted("base-1", "pitr-pg", "pitr-app", BackupKind.PITR_BASE, T, T, T.plusSeconds(30), "PRIMARY@db.example:5432",
            "starter plan", "pitr-pg/pitr/base/base-1/base.tar.zst.tink", "20261201100000_pitr-base.tar.zst", 1234L, "00", null,
            new PitrBaseInfo(1, 0x4000028L, 0x4000100L, 150020, 7315011412336574321L, T.plusSeconds(29)), null, null),
        new BackupStarted("base-0", "pitr-pg", "pitr-app", BackupKind.PITR_BASE, T.minusSeconds(9000), T.minusSeconds(9000),
            "PRIMARY@db.example:5432", "starter plan", "w1"));
    publish(Topics.PITR_EVENTS, window(PitrState.STREAMING, T.plusSeconds(29), T.plusSeconds(600), T.plusSeconds(601)),
        // an older statement arriving later (a replay, another partition's lag) changes nothing
        window(PitrState.STARTING, null, null, T.plusSeconds(31)));

    await().atMost(Duration.ofSeconds(30)).until(() -> get("/v1/apps/pitr-app/addons/pitr-pg/pitr").path("state").asString()
        .equals("streaming"));
    JsonNode customer = get("/v1/apps/pitr-app/addons/pitr-pg/pitr");
    assertThat(customer.path("earliest").asString()).isEqualTo(T.plusSeconds(29).toString());
    assertThat(customer.path("latest").asString()).isEqualTo(T.plusSeconds(600).toString());
    assertThat(customer.path("baseBackups").get(0).path("id").asString()).isEqualTo("base-1");
    assertThat(customer.has("slotWarning")).isFalse();

    JsonNode operator = get("/v1/addons/pitr-pg/pitr");
    assertThat(operator.path("systemId").asString()).isEqualTo("7315011412336574321");
    assertThat(operator.path("baseBackups")).hasSize(2);
    JsonNode base = operator.path("baseBackups").get(0);
    assertThat(base.path("id").asString()).isEqualTo("base-1");
    assertThat(base.path("status").asString()).isEqualTo("done");
    assertThat(base.path("startLsn").asString()).isEqualTo("0/4000028");
    assertThat(base.path("stopLsn").asString()).isEqualTo("0/4000100");
    assertThat(base.path("usable").asBoolean()).isTrue();
    assertThat(operator.path("baseBackups").get(1).path("status").asString()).isEqualTo("running");

    // base backups are not dumps customers download
    assertThat(get("/v1/apps/pitr-app/addons/pitr-pg/backups")).isEmpty();
    assertThat(send(asOperator("/v1/apps/pitr-app/addons/pitr-pg/backups/latest/archive")).status()).isEqualTo(404);

    // retention explains why the base is kept
    assertThat(get("/v1/apps/pitr-app/addons/pitr-pg/retention").path("backups").toString())
        .contains("base-1").contains("base inside the 7-day window");

    publish(Topics.BACKUP_EVENTS, new BackupPruned("base-1", "pitr-pg", "pitr-app", T.plusSeconds(9999), "point-in-time base: older"));
    await().atMost(Duration.ofSeconds(30)).until(() -> get("/v1/addons/pitr-pg/pitr").path("baseBackups").size() == 1);
    assertThat(get("/v1/apps/pitr-app/addons/pitr-pg/backups")).isEmpty();
  }

  @Test
  void sandbox_and_mysql_addons_are_unavailable_with_the_reason_and_unknown_addons_get_a_problem() {
    register("pitr-sandbox", "postgresql", "sandbox");
    register("pitr-mysql", "mysql", "business");

    JsonNode sandbox = get("/v1/apps/pitr-app/addons/pitr-sandbox/pitr");
    assertThat(sandbox.path("state").asString()).isEqualTo("unavailable");
    assertThat(sandbox.path("reason").asString()).startsWith("Sandbox plans have no point-in-time recovery");
    JsonNode mysql = get("/v1/apps/pitr-app/addons/pitr-mysql/pitr");
    assertThat(mysql.path("state").asString()).isEqualTo("unavailable");
    assertThat(mysql.path("reason").asString()).isEqualTo("point-in-time recovery is offered for PostgreSQL addons only");

    for (String path : List.of("/v1/apps/pitr-app/addons/nope/pitr", "/v1/apps/other-app/addons/pitr-mysql/pitr", "/v1/addons/nope/pitr")) {
      Answer answer = send(asOperator(path));
      assertThat(answer.status()).as(path).isEqualTo(404);
      assertThat(answer.header("content-type")).startsWith("application/problem+json");
    }
    assertThat(send(request("/v1/addons/pitr-mysql/pitr")).status()).isEqualTo(401);
  }
}
