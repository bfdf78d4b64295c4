package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.clearInvocations;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.RestoreTarget;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import java.net.http.HttpRequest.BodyPublishers;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mockito.ArgumentCaptor;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An operator's point-in-time restore into a database of their choosing: accepted with the target's
 * password sealed for the worker and never shown back or logged; an app's own token cannot ask for it;
 * a target value a tool could misread is a 400 naming the field, and nothing is published.
 */
@ExtendWith(OutputCaptureExtension.class)
class PitrRestoreIntoApiTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String PASSWORD = "Tr1cky: pass\\word #;=";
  /** {@link #PASSWORD} as a JSON string's content. */
  private static final String PASSWORD_JSON = PASSWORD.replace("\\", "\\\\");
  private static final Instant EARLIEST = Instant.now().minus(Duration.ofHours(2)).truncatedTo(ChronoUnit.SECONDS);

  @Autowired SecretSealer sealer;

  private void registerWithWindow() {
    Answer answer = send(asOperator("/v1/addons/into-pg").header("Content-Type", "application/json").PUT(BodyPublishers.ofString("""
        {"appName":"into-app","engine":"postgresql","plan":"starter","database":"shop","user":"shop",
         "password":"s3cret","nodes":[{"role":"primary","host":"db.example","port":5432}]}""")));
    assertThat(answer.status()).as(answer.body()).isIn(200, 201);
    Instant now = Instant.now();
    Events.publish(bootstrapServers(), Topics.PITR_EVENTS, List.<SpecificRecord>of(new PitrWindowChanged("into-pg",
        PitrState.STREAMING, EARLIEST, now, null, null, null, null, List.of(), now)), e -> "into-pg");
    await().atMost(Duration.ofSeconds(30)).until(() -> JSON.readTree(send(asOperator("/v1/addons/into-pg/pitr")).body())
        .path("state").asString().equals("streaming"));
  }

  private static String body(String targetTime, String host, String database, String user, String password) {
    return """
        {"targetTime":"%s","target":{"host":"%s","port":5433,"database":"%s","user":"%s","password":"%s"}}"""
        .formatted(targetTime, host, database, user, password);
  }

  private Answer post(String token, String path, String json) {
    return send(request(path).header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString(json)));
  }

  @Test
  void an_operator_restores_into_a_named_database_with_the_password_sealed_and_never_echoed_or_logged(CapturedOutput output) {
    registerWithWindow();
    clearInvocations(publisher);
    String target = EARLIEST.plus(Duration.ofMinutes(30)).toString();
    Answer accepted = post(OPERATOR, "/v1/addons/into-pg/pitr/restores", body(target, "restore-target.internal", "shop_restored",
        "restorer", PASSWORD_JSON));
    assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
    assertThat(accepted.body()).doesNotContain("Tr1cky").doesNotContain("restore-target");
    String id = JSON.readTree(accepted.body()).path("id").asString();
    assertThat(accepted.header("location")).isEqualTo("/v1/addons/into-pg/pitr/restores/" + id);

    ArgumentCaptor<SpecificRecord> event = ArgumentCaptor.forClass(SpecificRecord.class);
    verify(publisher).publish(eq(Topics.BACKUP_REQUESTS), eq("into-pg"), event.capture());
    BackupRequested request = (BackupRequested) event.getValue();
    assertThat(request.getKind()).isEqualTo(BackupKind.PITR_RESTORE);
    assertThat(request.getAppName()).isEqualTo("into-app");
    assertThat(request.getPitr().getTargetTime()).isEqualTo(Instant.parse(target));
    RestoreTarget into = request.getPitr().getRestoreInto();
    assertThat(List.of(into.getHost(), into.getPort(), into.getDatabase(), into.getUser()))
        .containsExactly("restore-target.internal", 5433, "shop_restored", "restorer");
    assertThat(sealer.open("into-pg", into.getPassword())).isEqualTo(PASSWORD);
    assertThat(new String(into.getPassword().getCiphertext().array())).doesNotContain("Tr1cky");

    JsonNode followed = JSON.readTree(send(asOperator("/v1/addons/into-pg/pitr/restores/" + id)).body());
    assertThat(followed.path("status").asString()).isEqualTo("pending");
    assertThat(followed.path("targetTime").asString()).isEqualTo(target);
    assertThat(followed.toString()).doesNotContain("Tr1cky");
    // the app follows it like its own restore
    assertThat(send(asOperator("/v1/apps/into-app/addons/into-pg/pitr/restores/" + id)).status()).isEqualTo(200);
    assertThat(output.getAll()).doesNotContain("Tr1cky");
  }

  @Test
  void an_apps_token_cannot_point_backstop_at_a_host() {
    registerWithWindow();
    String appToken = JSON.readTree(send(asOperator("/v1/operator/apps/into-app/tokens").POST(BodyPublishers.noBody())).body())
        .path("token").asString();
    clearInvocations(publisher);
    String json = body(EARLIEST.plus(Duration.ofMinutes(30)).toString(), "evil.example", "shop", "restorer", PASSWORD_JSON);
    Answer refused = post(appToken, "/v1/addons/into-pg/pitr/restores", json);
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.header("content-type")).startsWith("application/problem+json");
    // the app's own restore endpoint takes no target: an unknown field is refused, not ignored
    Answer smuggled = post(appToken, "/v1/apps/into-app/addons/into-pg/pitr/restores", json);
    assertThat(smuggled.status()).as(smuggled.body()).isEqualTo(400);
    assertThat(smuggled.body()).contains("target").doesNotContain("Tr1cky");
    assertThat(send(request("/v1/addons/into-pg/pitr/restores/x").header("Authorization", "Bearer " + appToken)).status())
        .isEqualTo(401);
    verify(publisher, never()).publish(eq(Topics.BACKUP_REQUESTS), anyString(), any());
  }

  @Test
  void target_values_a_tool_could_misread_are_refused_naming_the_field_and_nothing_is_published() {
    registerWithWindow();
    clearInvocations(publisher);
    String at = EARLIEST.plus(Duration.ofMinutes(30)).toString();
    record Case(String json, String expected) {}
    List<Case> cases = List.of(
        new Case(body(at, "db.example", "-oProxyCommand", "restorer", PASSWORD_JSON), "target.database must not start with '-'"),
        new Case(body(at, "db host", "shop", "restorer", PASSWORD_JSON), "target.host must be a host name or an IP address"),
        new Case(body(at, "db.example", "shop", "--help", PASSWORD_JSON), "target.user must not start with '-'"),
        new Case(body(at, "db.example", "shop", "restorer", "Tr1cky\\nhost=evil"),
            "target.password must not contain control characters or line breaks"),
        new Case(body(at, "db.example", "shop", "restorer", PASSWORD_JSON).replace("5433", "70000"), "target.port"),
        new Case("{\"targetTime\":\"" + at + "\"}", "target must not be null"));
    for (Case c : cases) {
      Answer answer = post(OPERATOR, "/v1/addons/into-pg/pitr/restores", c.json());
      assertThat(answer.status()).as(c.json()).isEqualTo(400);
      assertThat(answer.header("content-type")).startsWith("application/problem+json");
      assertThat(answer.body()).as(c.json()).contains(c.expected()).doesNotContain("Tr1cky");
    }
    // the window's refusals are the app endpoint's
    Answer early = post(OPERATOR, "/v1/addons/into-pg/pitr/restores", body(EARLIEST.minusSeconds(60).toString(), "db.example",
        "shop", "restorer", PASSWORD_JSON));
    assertThat(early.status()).isEqualTo(422);
    assertThat(early.body()).contains("earliest").doesNotContain("Tr1cky");
    verify(publisher, never()).publish(eq(Topics.BACKUP_REQUESTS), anyString(), any());
  }
}
