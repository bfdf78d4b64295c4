package dev.backstop.notifier.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.notifier.NotifierApplication;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.PitrState;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import dev.backstop.schemas.events.WebhookDeliveryOutcome;
import dev.backstop.schemas.events.WebhookEndpointDisabled;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.ConsumerLag;
import dev.backstop.testing.Events;
import dev.backstop.testing.TestMongo;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The notifier against a real broker, the in-process store and a real HTTP receiver that checks every
 * request as a customer's Standard Webhooks library would: signed deliveries, retries after 500s, no
 * delivery of another app's events, an endpoint disabled after a run of failures, and nothing sent
 * again when the topics are replayed from offset 0.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhookDeliveryIT {

  /** One request as the receiver saw it, and whether its signature verified. */
  record Received(String path, String id, long timestamp, String body, boolean signatureValid) {}

  private InProcessKafka kafka;
  private MongoHandle mongo;
  private HttpServer receiver;
  private final String secretsKey = SecretSealer.newBase64Key();
  private final Map<String, String> secrets = new ConcurrentHashMap<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> attemptsById = new ConcurrentHashMap<>();

  @BeforeAll
  void start() throws Exception {
    kafka = InProcessKafka.startTemporary();
    mongo = TestMongo.start();
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    // app A's endpoint fails each message twice with a 500 before taking it
    receiver.createContext("/a", exchange -> answer(exchange, "wh_a", id -> attemptsById.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet() <= 2 ? 500 : 204));
    receiver.createContext("/b", exchange -> answer(exchange, "wh_b", id -> 200));
    receiver.createContext("/down", exchange -> answer(exchange, "wh_down", id -> 503));
    receiver.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    receiver.start();
  }

  @AfterAll
  void stop() {
    receiver.stop(0);
    mongo.close();
    kafka.close();
  }

  private void answer(HttpExchange exchange, String endpointId, java.util.function.Function<String, Integer> status) throws java.io.IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    String id = exchange.getRequestHeaders().getFirst("webhook-id");
    String timestamp = exchange.getRequestHeaders().getFirst("webhook-timestamp");
    String signatures = exchange.getRequestHeaders().getFirst("webhook-signature");
    String text = new String(body, StandardCharsets.UTF_8);
    received.add(new Received(exchange.getRequestURI().getPath(), id, Long.parseLong(timestamp), text,
        verifies(secrets.get(endpointId), id, timestamp, text, signatures)));
    exchange.sendResponseHeaders(status.apply(id), -1);
    exchange.close();
  }

  /** The Standard Webhooks verification, written from the specification: any v1 signature in the list may match. */
  private static boolean verifies(String secret, String id, String timestamp, String body, String header) {
    try {
      if (Math.abs(Instant.now().getEpochSecond() - Long.parseLong(timestamp)) > 300) {
        return false;
      }
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
      byte[] expected = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
      for (String signature : header.split(" ")) {
        String[] parts = signature.split(",", 2);
        if (parts[0].equals("v1") && MessageDigest.isEqual(expected, Base64.getDecoder().decode(parts[1]))) {
          return true;
        }
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  private ConfigurableApplicationContext notifier(String group) {
    List<String> args = new ArrayList<>(List.of(
        "--spring.main.web-application-type=none",
        "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
        "--spring.mongodb.uri=" + mongo.uri(),
        "--backstop.mongodb.database=backstop-notifier",
        "--backstop.secrets.key=" + secretsKey,
        "--backstop.webhooks.allow-http=true",
        "--backstop.webhooks.allow-private-addresses=true",
        "--backstop.notifier.retry-delays=1s,1s,1s",
        "--backstop.notifier.poll-interval=100ms",
        "--backstop.notifier.disable-after-failures=9",
        "--backstop.notifier.disable-after=0s"));
    for (String binding : List.of("addonEvents", "webhookEvents", "backupEvents", "pitrEvents")) {
      args.add("--spring.cloud.stream.bindings." + binding + "-in-0.group=" + group);
    }
    return NotifierApplication.builder().run(args.toArray(String[]::new));
  }

  private WebhookEndpointRegistered endpoint(String id, String app, String path, List<String> events, Instant at) {
    String secret = dev.backstop.kit.webhook.WebhookSignature.newSecret();
    secrets.put(id, secret);
    String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + path;
    return new WebhookEndpointRegistered(id, app, url, List.copyOf(events), SecretSealer.fromBase64(secretsKey).seal(id, secret), at);
  }

  @Test
  void deliveries_are_signed_retried_after_500s_kept_to_their_app_and_never_repeated_by_a_replay() throws Exception {
    Instant now = Instant.now();
    Instant before = now.minusSeconds(600);
    Events.publish(kafka.bootstrapServers(), Topics.ADDONS,
        List.of(Events.registered(Events.addon("pg-a", "app-a", Plan.BUSINESS, 1, "UTC"), before)), e -> "pg-a");
    Events.publish(kafka.bootstrapServers(), Topics.WEBHOOKS, List.of(
        endpoint("wh_a", "app-a", "/a", List.of("backup.failed", "restore-test.failed", "pitr.window-broken", "pitr.window-restored"), before),
        endpoint("wh_b", "app-b", "/b", List.of("backup.failed"), before),
        endpoint("wh_down", "app-d", "/down", List.of("backup.failed"), before)), e -> ((WebhookEndpointRegistered) e).getAppName());
    List<SpecificRecord> backupEvents = List.of(
        new BackupFailed("bk-a1", "pg-a", "app-a", BackupKind.SCHEDULED, now.minusSeconds(60), now.minusSeconds(50), null, "connection refused"),
        // app A does not subscribe to completed backups
        new BackupCompleted("bk-a2", "pg-a", "app-a", BackupKind.MANUAL, now.minusSeconds(40), now.minusSeconds(40), now.minusSeconds(30),
            "PRIMARY@10.0.0.5:5432", null, "pg-a/bk-a2/archive", "x.tar.zst", 10L, "00", null, null, null, null),
        new BackupVerified("bk-a3", "pg-a", "app-a", now.minusSeconds(20), false, "restore failed: relation missing", 0, 0L, 100L, "w1"),
        new BackupFailed("bk-b1", "pg-b", "app-b", BackupKind.MANUAL, now.minusSeconds(60), now.minusSeconds(50), null, "disk full"),
        // app C has no endpoint at all
        new BackupFailed("bk-c1", "pg-c", "app-c", BackupKind.MANUAL, now.minusSeconds(60), now.minusSeconds(50), null, "timeout"),
        // three messages to app D's endpoint, which never answers well: 9 failed attempts in a row disable it
        new BackupFailed("bk-d1", "pg-d", "app-d", BackupKind.MANUAL, now.minusSeconds(60), now.minusSeconds(50), null, "timeout"),
        new BackupFailed("bk-d2", "pg-d", "app-d", BackupKind.MANUAL, now.minusSeconds(60), now.minusSeconds(49), null, "timeout"),
        new BackupFailed("bk-d3", "pg-d", "app-d", BackupKind.MANUAL, now.minusSeconds(60), now.minusSeconds(48), null, "timeout"),
        // happened before app D's endpoint existed: never delivered
        new BackupFailed("bk-d0", "pg-d", "app-d", BackupKind.MANUAL, before.minusSeconds(60), before.minusSeconds(50), null, "timeout"));
    Events.publish(kafka.bootstrapServers(), Topics.BACKUP_EVENTS, backupEvents, WebhookDeliveryIT::addonOf);
    List<SpecificRecord> pitr = List.of(
        window(PitrState.STREAMING, now.minusSeconds(100)),
        window(PitrState.BROKEN, now.minusSeconds(90)),
        window(PitrState.BROKEN, now.minusSeconds(80)),
        window(PitrState.STARTING, now.minusSeconds(70)),
        window(PitrState.STREAMING, now.minusSeconds(60)),
        window(PitrState.STREAMING, now.minusSeconds(50)));
    Events.publish(kafka.bootstrapServers(), Topics.PITR_EVENTS, pitr, e -> "pg-a");

    var live = notifier("notifier");
    try {
      // four messages for A, each refused twice then taken (8 failures in a row at most: A stays enabled); one
      // for B; nine attempts for D, then disabled
      await().atMost(Duration.ofSeconds(60)).until(() -> received.stream().filter(r -> r.path().equals("/a")).count() >= 12
          && received.stream().anyMatch(r -> r.path().equals("/b")));
      await().atMost(Duration.ofSeconds(30)).until(() -> disabledEvents().size() == 1);
      ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("notifier"), List.of(Topics.WEBHOOKS, Topics.BACKUP_EVENTS,
          Topics.PITR_EVENTS), Duration.ofSeconds(30));
      // D's last attempts, due a second after the ninth, are cancelled rather than sent
      Thread.sleep(2_000);
    } finally {
      live.close();
    }

    assertThat(received).as("every request carries a valid Standard Webhooks signature").allMatch(Received::signatureValid);
    List<Received> toA = received.stream().filter(r -> r.path().equals("/a")).toList();
    assertThat(toA).hasSize(12);
    Map<String, List<Received>> byMessage = toA.stream().collect(java.util.stream.Collectors.groupingBy(Received::id));
    assertThat(byMessage).as("one webhook-id per event, kept across its retries").hasSize(4)
        .allSatisfy((id, attempts) -> {
          assertThat(attempts).hasSize(3);
          assertThat(attempts).extracting(Received::body).containsOnly(attempts.get(0).body());
        });
    assertThat(toA).extracting(r -> type(r.body())).containsOnly("backup.failed", "restore-test.failed", "pitr.window-broken",
        "pitr.window-restored");
    assertThat(toA).extracting(Received::body).allSatisfy(body -> assertThat(body).contains("\"app\":\"app-a\"")
        .doesNotContain("10.0.0.5").doesNotContain("archive"));
    assertThat(toA).filteredOn(r -> type(r.body()).equals("backup.failed")).first().extracting(Received::body).asString()
        .contains("\"backupId\":\"bk-a1\"").contains("\"reason\":\"connection refused\"");

    List<Received> toB = received.stream().filter(r -> r.path().equals("/b")).toList();
    assertThat(toB).hasSize(1).allSatisfy(r -> assertThat(r.body()).contains("\"app\":\"app-b\"").contains("bk-b1"));
    assertThat(received).as("app C's failure reaches nobody").noneMatch(r -> r.body().contains("bk-c1"));
    assertThat(received).as("what came before an endpoint existed is not sent").noneMatch(r -> r.body().contains("bk-d0"));
    assertThat(received).filteredOn(r -> r.path().equals("/down")).as("attempts before the endpoint was disabled").hasSize(9);

    List<WebhookDeliveryAttempted> log = attempts();
    assertThat(log).filteredOn(a -> a.getEndpointId().equals("wh_a") && a.getEventType().equals("backup.failed"))
        .extracting(a -> a.getAttempt() + " " + a.getOutcome() + " " + a.getHttpStatus())
        .containsExactly("1 RETRYING 500", "2 RETRYING 500", "3 DELIVERED 204");
    List<WebhookDeliveryAttempted> toDown = log.stream().filter(a -> a.getEndpointId().equals("wh_down")).toList();
    assertThat(toDown).filteredOn(a -> a.getOutcome() != WebhookDeliveryOutcome.CANCELLED).hasSize(9)
        .allSatisfy(a -> assertThat(a.getHttpStatus()).isEqualTo(503));
    assertThat(toDown).extracting(WebhookDeliveryAttempted::getOutcome).contains(WebhookDeliveryOutcome.CANCELLED);
    assertThat(disabledEvents()).singleElement().satisfies(d -> {
      assertThat(d.getEndpointId()).isEqualTo("wh_down");
      assertThat(d.getConsecutiveFailures()).isEqualTo(9);
      assertThat(d.getLastError()).isEqualTo("HTTP 503");
    });

    // ops replay every topic from offset 0 into the same store: nothing is sent twice
    int sentBefore = received.size();
    int loggedBefore = log.size();
    var replay = notifier("notifier-replay");
    try {
      ConsumerLag.awaitCaughtUp(kafka.bootstrapServers(), List.of("notifier-replay"), List.of(Topics.ADDONS, Topics.WEBHOOKS,
          Topics.BACKUP_EVENTS, Topics.PITR_EVENTS), Duration.ofSeconds(60));
      Thread.sleep(3_000);
    } finally {
      replay.close();
    }
    assertThat(received).as("requests after the replay").hasSize(sentBefore);
    assertThat(attempts()).as("delivery log after the replay").hasSize(loggedBefore);
  }

  private static PitrWindowChanged window(PitrState state, Instant at) {
    return PitrWindowChanged.newBuilder().setAddonId("pg-a").setState(state).setAt(at)
        .setReason(state == PitrState.BROKEN ? "WAL gap at 0/3000000" : null).setBrokenSince(state == PitrState.BROKEN ? at : null).build();
  }

  private List<WebhookDeliveryAttempted> attempts() {
    return Events.readAll(kafka.bootstrapServers(), Topics.WEBHOOK_DELIVERIES, Duration.ofSeconds(1)).stream()
        .map(WebhookDeliveryAttempted.class::cast).toList();
  }

  private List<WebhookEndpointDisabled> disabledEvents() {
    return Events.readAll(kafka.bootstrapServers(), Topics.WEBHOOKS, Duration.ofMillis(500)).stream()
        .filter(WebhookEndpointDisabled.class::isInstance).map(WebhookEndpointDisabled.class::cast).toList();
  }

  private static String type(String body) {
    return body.replaceFirst("^\\{\"type\":\"([^\"]+)\".*$", "$1");
  }

  private static String addonOf(SpecificRecord event) {
    return switch (event) {
      case BackupFailed e -> e.getAddonId();
      case BackupCompleted e -> e.getAddonId();
      case BackupVerified e -> e.getAddonId();
      default -> throw new IllegalArgumentException();
    };
  }
}
