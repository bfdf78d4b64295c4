package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.clearInvocations;
import static org.mockito.Mockito.verifyNoInteractions;

import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every malformed request the hardening issue found, and their neighbours, against the running
 * gateway: each is answered with a 4xx problem document (never a 5xx, never HTML nor Spring's
 * default error body) whose detail names the field, and nothing is stored or published.
 */
class MalformedRequestsTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private static final String VALID = """
      {"appName":"fuzz-app","engine":"postgresql","plan":"business","database":"shop","user":"shop",
       "password":"s3cret","nodes":[{"role":"primary","host":"db.example","port":5432}],
       "schedule":{"enabled":true,"hour":3,"timezone":"UTC"}}""";

  /** One malformed request: how to send it, the status expected and what the detail must say. */
  record Case(String name, Function<MalformedRequestsTest, Answer> send, int status, String detail) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Case put(String name, String body, int status, String detail) {
    return new Case(name, t -> t.send(t.asOperator("/v1/addons/fuzz-1").header("Content-Type", "application/json")
        .PUT(BodyPublishers.ofString(body))), status, detail);
  }

  private static Case variant(String name, String from, String to, String detail) {
    if (!VALID.contains(from)) {
      throw new IllegalArgumentException(from);
    }
    return put(name, VALID.replace(from, to), 400, detail);
  }

  private static Case schedule(String name, String body, String detail) {
    return new Case(name, t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons/fuzz-0/schedule").header("Content-Type", "application/json")
        .PUT(BodyPublishers.ofString(body))), 400, detail);
  }

  private static Case get(String name, String path, int status, String detail) {
    return new Case(name, t -> t.send(t.asOperator(path)), status, detail);
  }

  private static Case raw(String name, String head, int status, String detail) {
    return new Case(name, t -> t.raw(head + "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + OPERATOR, new byte[0]),
        status, detail);
  }

  static Stream<Arguments> cases() {
    String big = "x".repeat(10 * 1024 * 1024);
    return Stream.of(
        // bodies
        variant("a null node", "\"nodes\":[{\"role\":\"primary\",\"host\":\"db.example\",\"port\":5432}]", "\"nodes\":[null]",
            "nodes[0] must not be null"),
        variant("a port as a string", "\"port\":5432", "\"port\":\"5432\"", "nodes[0].port: expected an integer, got a string"),
        variant("a port with a fraction", "\"port\":5432", "\"port\":5432.7", "nodes[0].port: expected an integer, got a decimal number"),
        variant("a port beyond int", "\"port\":5432", "\"port\":99999999999999999999", "nodes[0].port"),
        variant("a port out of range", "\"port\":5432", "\"port\":70000", "nodes[0].port must be less than or equal to 65535"),
        variant("a port as null", "\"port\":5432", "\"port\":null", "nodes[0].port must not be null"),
        variant("an hour with a fraction", "\"hour\":3", "\"hour\":3.5", "schedule.hour: expected an integer, got a decimal number"),
        variant("an hour as a string", "\"hour\":3", "\"hour\":\"3\"", "schedule.hour: expected an integer, got a string"),
        variant("a boolean as a string", "\"enabled\":true", "\"enabled\":\"true\"", "schedule.enabled: expected true or false, got a string"),
        variant("a boolean as a number", "\"enabled\":true", "\"enabled\":1", "schedule.enabled: expected true or false, got an integer"),
        variant("an app name as a number", "\"appName\":\"fuzz-app\"", "\"appName\":123", "appName: expected a string, got an integer"),
        variant("a password as a number", "\"password\":\"s3cret\"", "\"password\":12345", "password: expected a string, got an integer"),
        variant("a user as an object", "\"user\":\"shop\"", "\"user\":{}", "user: expected a string"),
        variant("nodes as an object", "\"nodes\":[", "\"nodes\":{\"a\":[", "nodes: expected an array"),
        variant("a duplicate key", "\"engine\":\"postgresql\"", "\"engine\":\"postgresql\",\"appName\":\"other-app\"",
            "appName: duplicate field"),
        variant("an unknown field", "\"plan\":\"business\"", "\"plan\":\"business\",\"color\":\"red\"", "color: unknown field"),
        variant("an unknown field in a node", "\"port\":5432", "\"port\":5432,\"ssl\":true", "nodes[0].ssl: unknown field"),
        put("a 10 MB unknown field", VALID.replace("{\"appName\"", "{\"padding\":\"" + big + "\",\"appName\""), 413, "64 KiB"),
        new Case("a 70 KB chunked body", t -> t.send(t.asOperator("/v1/addons/fuzz-1").header("Content-Type", "application/json")
            .PUT(BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                VALID.replace("{\"appName\"", "{\"p\":\"" + "y".repeat(70_000) + "\",\"appName\"").getBytes(StandardCharsets.UTF_8))))),
            413, "64 KiB"),
        put("trailing garbage", VALID + " {}", 400, "JSON"),
        put("arrays nested 30000 deep", "{\"appName\":" + "[".repeat(30_000) + "]".repeat(30_000) + "}", 400, "appName"),
        put("truncated JSON", "{\"appName\":", 400, "JSON"),
        put("an array instead of an object", "[]", 400, "expected an object"),
        put("no body", "", 400, "a JSON body is required"),
        variant("a newline in the password", "\"password\":\"s3cret\"", "\"password\":\"x\\npassword=real\\nresult-file=/tmp/x\"",
            "password must not contain control characters or line breaks"),
        variant("a host read as an option", "\"host\":\"db.example\"", "\"host\":\"-oProxyCommand=x\"", "nodes[0].host must not start with '-'"),
        variant("a newline in a host", "\"host\":\"db.example\"", "\"host\":\"db\\nexample\"", "nodes[0].host must not contain control characters"),
        variant("a host that is no name", "\"host\":\"db.example\"", "\"host\":\"db example/x\"", "nodes[0].host must be a host name or an IP address"),
        variant("a user read as an option", "\"user\":\"shop\"", "\"user\":\"--all\"", "user must not start with '-'"),
        variant("a newline in the user", "\"user\":\"shop\"", "\"user\":\"shop\\nno-data\"", "user must not contain control characters"),
        variant("a database read as an option", "\"database\":\"shop\"", "\"database\":\"-A\"", "database must not start with '-'"),
        variant("a database as a connection string", "\"database\":\"shop\"", "\"database\":\"host=evil dbname=x\"",
            "database must be a plain database name"),
        variant("an empty password", "\"password\":\"s3cret\"", "\"password\":\"\"", "password must not be empty"),
        new Case("plain text", t -> t.send(t.asOperator("/v1/addons/fuzz-1").header("Content-Type", "text/plain")
            .PUT(BodyPublishers.ofString(VALID))), 415, "text/plain"),
        new Case("an unknown charset", t -> t.send(t.asOperator("/v1/addons/fuzz-1")
            .header("Content-Type", "application/json; charset=no-such-charset").PUT(BodyPublishers.ofString(VALID))), 415, ""),
        new Case("a schedule hour with a fraction", t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons/fuzz-1/schedule")
            .header("Content-Type", "application/json").PUT(BodyPublishers.ofString("{\"hour\":3.5}"))), 400,
            "hour: expected an integer, got a decimal number"),
        variant("an unknown time zone", "\"timezone\":\"UTC\"", "\"timezone\":\"Mars/Base\"", "unknown time zone"),
        variant("a time zone too long", "\"timezone\":\"UTC\"", "\"timezone\":\"" + "Z".repeat(65) + "\"",
            "schedule.timezone size must be between 0 and 64"),
        variant("an unknown role", "\"role\":\"primary\"", "\"role\":\"tertiary\"", "nodes[0].role must be primary or secondary"),
        variant("an unknown engine", "\"engine\":\"postgresql\"", "\"engine\":\"oracle\"", "engine must be postgresql or mysql"),
        variant("no primary", "\"role\":\"primary\"", "\"role\":\"secondary\"", "exactly one primary"),
        variant("no nodes", "\"nodes\":[{\"role\":\"primary\",\"host\":\"db.example\",\"port\":5432}]", "\"nodes\":[]",
            "nodes must not be empty"),
        variant("seventeen nodes", "\"nodes\":[{\"role\":\"primary\",\"host\":\"db.example\",\"port\":5432}]",
            "\"nodes\":[" + String.join(",", java.util.Collections.nCopies(17,
                "{\"role\":\"secondary\",\"host\":\"db.example\",\"port\":5432}")) + "]", "nodes size must be between 0 and 16"),
        schedule("a schedule in an unknown zone", "{\"timezone\":\"Mars/Base\"}", "unknown time zone"),
        schedule("a schedule hour out of range", "{\"hour\":24}", "hour must be less than or equal to 23"),
        schedule("a schedule time that does not exist", "{\"scheduleAt\":\"25:00\"}", "does not exist"),
        schedule("a schedule time too long", "{\"scheduleAt\":\"" + "4".repeat(100) + "\"}", "scheduleAt size must be"),
        schedule("a schedule with an unknown field", "{\"hour\":4,\"minute\":30}", "minute: unknown field"),
        schedule("a schedule as a number", "4", "expected an object, got an integer"),
        schedule("a schedule as null", "null", "a JSON body is required"),
        // paths
        new Case("a path parameter", t -> t.send(t.asOperator("/v1/addons/sec-x;y").header("Content-Type", "application/json")
            .PUT(BodyPublishers.ofString(VALID))), 400, "';'"),
        new Case("an encoded path parameter", t -> t.send(t.asOperator("/v1/addons/sec-x%3By").header("Content-Type", "application/json")
            .PUT(BodyPublishers.ofString(VALID))), 400, "addonId must be"),
        get("an encoded slash", "/v1/apps/a%2Fb/addons", 400, "malformed"),
        get("an encoded NUL", "/v1/apps/a%00b/addons", 400, "malformed"),
        get("an encoded backslash", "/v1/apps/a%5Cb/addons", 400, "malformed"),
        get("an encoded dot-dot slash", "/v1/apps/..%2F..%2Fetc/addons", 400, "malformed"),
        get("an app name with capitals", "/v1/apps/Fuzz_App/addons", 400, "appName must be"),
        get("an app name with a non-ASCII letter", "/v1/apps/%C3%A9t%C3%A9/addons", 400, "appName must be"),
        new Case("an addon id with a dot", t -> t.send(t.asOperator("/v1/addons/a.b").header("Content-Type", "application/json")
            .PUT(BodyPublishers.ofString(VALID))), 400, "addonId must be"),
        get("a backup id too long", "/v1/apps/fuzz-app/addons/fuzz-1/backups/" + "b".repeat(65), 400, "backupId must be"),
        new Case("a token for a bad app name", t -> t.send(t.asOperator("/v1/operator/apps/A!/tokens").POST(BodyPublishers.noBody())),
            400, "appName must be"),
        get("an unknown path", "/v1/nothing-here", 404, ""),
        get("an unknown path outside the API", "/nothing.php", 404, ""),
        get("the error page itself", "/error", 404, ""),
        raw("a URL with a raw space", "GET /v1/apps/a b/addons HTTP/1.1", 400, ""),
        raw("a URL with a raw pipe", "GET /v1/apps/a|b/addons HTTP/1.1", 400, ""),
        raw("a URL too long", "GET /v1/apps/" + "a".repeat(20_000) + "/addons HTTP/1.1", 400, ""),
        new Case("a header too large", t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons").header("X-Big", "z".repeat(20_000))),
            400, ""),
        // methods, content negotiation, CORS, auth
        new Case("a method not allowed", t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons").DELETE()), 405, "DELETE"),
        new Case("PATCH on an addon", t -> t.send(t.asOperator("/v1/addons/fuzz-1").method("PATCH", BodyPublishers.ofString(VALID))),
            405, "PATCH"),
        new Case("an unsupported method", t -> t.raw("BREW /v1/apps/fuzz-app/addons HTTP/1.1\r\nHost: x", new byte[0]), 405, ""),
        new Case("only HTML acceptable", t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons").header("Accept", "text/html")),
            406, ""),
        new Case("an error where only HTML is acceptable", t -> t.send(t.asOperator("/v1/apps/fuzz-app/addons/none")
            .header("Accept", "text/html")), 404, "no addon none"),
        new Case("a CORS preflight", t -> t.send(t.request("/v1/addons/fuzz-1").header("Origin", "https://evil.example")
            .header("Access-Control-Request-Method", "PUT").method("OPTIONS", BodyPublishers.noBody())), 403, "CORS"),
        new Case("no token", t -> t.send(t.request("/v1/apps/fuzz-app/addons")), 401, "Authorization"),
        new Case("a garbage token", t -> t.send(t.request("/v1/addons/fuzz-1").header("Authorization", "Bearer \u00ff\u00fe")
            .header("Content-Type", "application/json").PUT(BodyPublishers.ofString(VALID))), 401, "operator"))
        .map(Arguments::of);
  }

  /** An addon to read, registered once: the cases must find something to refuse besides a missing addon. */
  @org.junit.jupiter.api.BeforeEach
  void anAddonIsRegistered() {
    if (send(asOperator("/v1/apps/fuzz-app/addons")).status() == 404) {
      Answer registered = send(asOperator("/v1/addons/fuzz-0").header("Content-Type", "application/json")
          .PUT(BodyPublishers.ofString(VALID)));
      assertThat(registered.status()).as(registered.body()).isEqualTo(201);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void a_malformed_request_gets_a_problem_naming_what_is_wrong_and_changes_nothing(Case c) throws Exception {
    var before = stored();
    clearInvocations(publisher);

    Answer answer = c.send().apply(this);

    assertThat(answer.status()).as("status of %s: %s", c, answer.body()).isEqualTo(c.status());
    assertThat(answer.header("content-type")).as(c.name()).startsWith("application/problem+json");
    assertThat(answer.body()).doesNotContainIgnoringCase("<html").doesNotContain("\"timestamp\"");
    JsonNode problem = JSON.readTree(answer.body());
    assertThat(problem.path("status").asInt()).isEqualTo(c.status());
    assertThat(problem.path("detail").asString()).as(c.name()).contains(c.detail())
        .doesNotContain("s3cret").doesNotContain("password=real").doesNotContain("Exception");
    assertThat(answer.header("access-control-allow-origin")).isNull();
    verifyNoInteractions(publisher);
    assertThat(stored()).isEqualTo(before);
  }
}
