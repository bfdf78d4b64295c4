package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.gateway.backups.BackupListing;
import dev.backstop.kit.archive.ArchiveStore;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.stream.Stream;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Archives and signed links against the running gateway: ranges served, ignored or refused with the
 * archive's size, never a 5xx; nothing cached; a link dies with its token or its addon, and only its
 * own spelling works; the dashboard's redirect does not take the caller's Host.
 */
class DownloadHardeningTest extends RunningGateway {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** 1000 bytes that differ at every offset that matters. */
  private static final byte[] ARCHIVE = archive();

  @Autowired ArchiveStore store;
  @Autowired BackupListing listing;

  private static byte[] archive() {
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 31 + i / 256);
    }
    return bytes;
  }

  /** Registers {@code addonId} of {@code app} and gives it one done backup holding {@link #ARCHIVE}; its id. */
  private String addonWithABackup(String addonId, String app) throws Exception {
    Answer registered = send(asOperator("/v1/addons/" + addonId).header("Content-Type", "application/json")
        .PUT(BodyPublishers.ofString("""
            {"appName":"%s","engine":"postgresql","plan":"starter","database":"shop","user":"shop","password":"pw",
             "nodes":[{"role":"primary","host":"127.0.0.1","port":5432}]}""".formatted(app))));
    assertThat(registered.status()).as(registered.body()).isIn(200, 201);
    String id = new ObjectId().toHexString();
    String key = addonId + "/" + id + ".sql.gz";
    Path file = Files.createTempFile("archive", ".gz");
    Files.write(file, ARCHIVE);
    store.putTaking(key, file);
    listing.advance(id, BackupListing.Status.DONE, BackupListing.Stage.requested(addonId, app, "MANUAL", Instant.now())
        .completed((long) ARCHIVE.length, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(ARCHIVE)), key,
            id + ".sql.gz", null));
    return id;
  }

  private String link(String app, String addonId, String backupId, String token) {
    Answer made = send(request("/v1/apps/" + app + "/addons/" + addonId + "/backups/" + backupId + "/links")
        .header("Authorization", "Bearer " + token).POST(BodyPublishers.noBody()));
    assertThat(made.status()).as(made.body()).isEqualTo(201);
    assertThat(made.header("cache-control")).isEqualTo("no-store");
    return JSON.readTree(made.body()).get("url").asString();
  }

  private Answer follow(String url, String range) {
    return send(withRange(request(url), range));
  }

  private static HttpRequest.Builder withRange(HttpRequest.Builder request, String range) {
    return range == null ? request : request.header("Range", range);
  }

  static Stream<Arguments> ranges() {
    int size = ARCHIVE.length;
    return Stream.of(
        Arguments.of("no range", null, 200, null, 0, size),
        Arguments.of("the first bytes", "bytes=0-4", 206, "bytes 0-4/1000", 0, 5),
        Arguments.of("from an offset", "bytes=100-", 206, "bytes 100-999/1000", 100, size),
        Arguments.of("the last bytes", "bytes=-3", 206, "bytes 997-999/1000", 997, size),
        Arguments.of("an end beyond the size", "bytes=990-99999999999999999999", 206, "bytes 990-999/1000", 990, size),
        Arguments.of("a suffix longer than the archive", "bytes=-5000", 206, "bytes 0-999/1000", 0, size),
        Arguments.of("a range that ends before it starts (ignored)", "bytes=5-2", 200, null, 0, size),
        Arguments.of("garbage (ignored)", "bytes=abc", 200, null, 0, size),
        Arguments.of("another unit (ignored)", "items=0-1", 200, null, 0, size),
        Arguments.of("several ranges (ignored)", "bytes=0-1,3-4", 200, null, 0, size),
        Arguments.of("a start beyond any long", "bytes=99999999999999999999-", 416, "bytes */1000", 0, 0),
        Arguments.of("a start at the size", "bytes=1000-", 416, "bytes */1000", 0, 0),
        Arguments.of("an empty suffix", "bytes=-0", 416, "bytes */1000", 0, 0));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ranges")
  void a_range_is_served_ignored_or_refused_with_the_size_on_the_archive_and_on_a_link(String name, String range, int status,
      String contentRange, int from, int to) throws Exception {
    String backupId = addonWithABackup("ranged", "range-app");
    String direct = "/v1/apps/range-app/addons/ranged/backups/" + backupId + "/archive";
    String signed = link("range-app", "ranged", backupId, OPERATOR);
    for (Function<String, Answer> download : java.util.List.<Function<String, Answer>>of(
        r -> send(withRange(asOperator(direct), r)),
        r -> follow(signed, r))) {
      Answer answer = download.apply(range);
      assertThat(answer.status()).as("%s: %s", name, answer.body()).isEqualTo(status);
      assertThat(answer.header("cache-control")).isEqualTo("no-store");
      assertThat(answer.header("content-range")).isEqualTo(contentRange);
      if (status == 416) {
        assertThat(answer.header("content-type")).startsWith("application/problem+json");
        assertThat(JSON.readTree(answer.body()).get("detail").asString()).contains("1000 bytes");
      } else {
        assertThat(answer.bytes()).isEqualTo(Arrays.copyOfRange(ARCHIVE, from, to));
      }
    }
  }

  @Test
  void a_head_request_describes_the_archive_without_sending_it() throws Exception {
    String backupId = addonWithABackup("headed", "head-app");
    for (String path : java.util.List.of("/v1/apps/head-app/addons/headed/backups/" + backupId + "/archive",
        link("head-app", "headed", backupId, OPERATOR))) {
      // on a socket of its own, read to its close: bytes after the headers would otherwise be left on a
      // pooled connection, where only a later request that happens to reuse it would choke on them
      Answer answer = raw("HEAD " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + OPERATOR, new byte[0]);
      assertThat(answer.status()).as(path).isEqualTo(200);
      assertThat(answer.header("content-length")).isEqualTo("1000");
      assertThat(answer.header("cache-control")).isEqualTo("no-store");
      assertThat(answer.bytes().length).as("%s: bytes after the headers", path).isZero();
    }
  }

  @Test
  void a_link_stops_working_when_the_token_it_was_made_with_is_revoked() throws Exception {
    String backupId = addonWithABackup("revoking", "revoke-app");
    JsonNode issued = JSON.readTree(send(asOperator("/v1/operator/apps/revoke-app/tokens").POST(BodyPublishers.noBody())).body());
    String byApp = link("revoke-app", "revoking", backupId, issued.get("token").asString());
    String byOperator = link("revoke-app", "revoking", backupId, OPERATOR);
    assertThat(follow(byApp, null).status()).isEqualTo(200);

    assertThat(send(asOperator("/v1/operator/apps/revoke-app/tokens/" + issued.get("id").asString()).DELETE()).status())
        .isEqualTo(204);

    Answer revoked = follow(byApp, null);
    assertThat(revoked.status()).isEqualTo(410);
    assertThat(revoked.header("content-type")).startsWith("application/problem+json");
    assertThat(JSON.readTree(revoked.body()).get("detail").asString()).contains("revoked");
    assertThat(follow(byOperator, null).status()).as("a link of the operator's, whose token is in force").isEqualTo(200);
  }

  @Test
  void a_link_stops_working_when_its_addon_is_removed() throws Exception {
    String backupId = addonWithABackup("removing", "remove-app");
    String url = link("remove-app", "removing", backupId, OPERATOR);
    assertThat(follow(url, null).status()).isEqualTo(200);

    assertThat(send(asOperator("/v1/addons/removing").DELETE()).status()).isEqualTo(204);

    Answer removed = follow(url, null);
    assertThat(removed.status()).isEqualTo(410);
    assertThat(JSON.readTree(removed.body()).get("detail").asString()).contains("removed");
    assertThat(send(asOperator("/v1/apps/remove-app/addons/removing/backups/" + backupId + "/links").POST(BodyPublishers.noBody()))
        .status()).isEqualTo(409);
  }

  @Test
  void only_the_issued_spelling_of_a_signature_is_accepted() throws Exception {
    String backupId = addonWithABackup("spelling", "spelling-app");
    String url = link("spelling-app", "spelling", backupId, OPERATOR);
    assertThat(follow(url, null).status()).isEqualTo(200);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char last = url.charAt(url.length() - 1);
    // 32 bytes take 43 characters whose last two bits are unused: flipping them spells the same bytes
    String unusedBits = url.substring(0, url.length() - 1) + alphabet.charAt(alphabet.indexOf(last) ^ 1);
    String padded = url + "=";
    for (String variant : java.util.List.of(unusedBits, padded, url.replace('-', '+'), url.replace('_', '/'))) {
      if (variant.equals(url)) {
        continue;
      }
      Answer answer = follow(variant, null);
      assertThat(answer.status()).as(variant).isIn(400, 404);
      assertThat(answer.header("content-type")).startsWith("application/problem+json");
    }
    assertThat(follow(unusedBits, null).status()).isEqualTo(404);
    assertThat(follow(padded, null).status()).as("refused by the shape of a link").isEqualTo(400);
  }

  @Test
  void the_dashboard_redirect_is_relative_whatever_the_host_header_says() {
    Answer answer = raw("GET /dashboard HTTP/1.1\r\nHost: evil.example", new byte[0]);
    assertThat(answer.status()).isBetween(301, 308);
    assertThat(answer.header("location")).isEqualTo("/dashboard/index.html");
  }
}
