package dev.backstop.bench;

import com.mongodb.client.MongoClients;
import com.mongodb.client.model.InsertManyOptions;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.avro.specific.SpecificRecord;
import org.bson.Document;

/**
 * The gateway's two hot paths, each beside its floor in the same run.
 *
 * <p>Listing: 1,000,000 backups in the catalog (10,000 addons × 100), {@code GET …/backups} of random
 * addons at a fixed arrival rate (open model: each request's latency counts from when it was due, so
 * a slow response delays no later measurement). The floor is a static file through the same server
 * at the same rate.
 *
 * <p>Download: one 1 GiB archive, stored encrypted as the dump worker stores it, through a signed
 * link, against nginx serving the same plaintext from disk, both fetched by curl, alternately, five times.
 */
public final class GatewayBench {

  private static final String TOKEN = "bench-operator-token-0123456789";
  private static final String SECRETS_KEY = SecretSealer.newBase64Key();
  private static final String BIG_KEY = "addon-0/big/20261122010000_db.tar.gz" + dev.backstop.kit.archive.ArchiveCipher.SUFFIX;

  public static void main(String[] args) throws Exception {
    int addons = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int perAddon = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int rate = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 60;
    long archiveBytes = (args.length > 4 ? Long.parseLong(args[4]) : 1024) << 20;
    Instant now = Instant.now();
    Path work = Files.createTempDirectory("gateway-bench");
    Path archives = Files.createDirectories(work.resolve("archives"));
    try (InProcessKafka kafka = InProcessKafka.startTemporary(); InProcessMongo mongo = InProcessMongo.inMemory()) {
      List<SpecificRecord> registrations = new ArrayList<>();
      for (int a = 0; a < addons; a++) {
        registrations.add(Events.registered(Events.addon("addon-" + a, "app-" + a, a % 3 == 0 ? Plan.BUSINESS : Plan.STARTER, 1,
            "Europe/Paris"), now.minus(Duration.ofDays(400))));
      }
      Events.publish(kafka.bootstrapServers(), Topics.ADDONS, registrations, e -> ((AddonRegistered) e).getAddon().getAddonId());

      long t0 = System.nanoTime();
      // the catalog as the gateway's consumers leave it after a year of events, written directly: the read path is measured here
      try (var client = MongoClients.create(mongo.uri())) {
        var database = client.getDatabase("backstop-gateway");
        var backups = database.getCollection("backups");
        var ids = database.getCollection("backup_ids");
        List<Document> batch = new ArrayList<>();
        List<Document> idDocs = new ArrayList<>();
        Random random = new Random(1);
        for (int a = 0; a < addons; a++) {
          List<String> addonIds = new ArrayList<>();
          for (int i = 0; i < perAddon; i++) {
            String id = String.format(Locale.ROOT, "%016x%08x", a, i);
            Date created = Date.from(now.minus(Duration.ofDays(perAddon - i)).plusSeconds(random.nextInt(3600)));
            boolean ok = random.nextInt(20) != 0;
            Document d = new Document("_id", id).append("addonId", "addon-" + a).append("appName", "app-" + a)
                .append("kind", random.nextInt(10) == 0 ? "MANUAL" : "SCHEDULED").append("createdAt", created)
                .append("status", ok ? "DONE" : "FAILED").append("rank", 2).append("node", "PRIMARY@db-" + a + ":5432")
                .append("startedAt", created).append("completedAt", new Date(created.getTime() + 60_000));
            if (ok) {
              d.append("size", 100_000L + random.nextInt(1 << 20)).append("sha256", "00".repeat(32))
                  .append("archiveKey", "addon-" + a + "/" + id + "/x.tar.gz").append("archiveName", "x.tar.gz");
            } else {
              d.append("reason", "could not connect to server: Connection refused");
            }
            batch.add(d);
            addonIds.add(id);
            if (batch.size() == 10_000) {
              backups.insertMany(batch, new InsertManyOptions().ordered(false));
              batch.clear();
            }
          }
          idDocs.add(new Document("_id", "addon-" + a).append("ids", addonIds));
          if (idDocs.size() == 1_000) {
            ids.insertMany(idDocs);
            idDocs.clear();
          }
        }
        if (!batch.isEmpty()) {
          backups.insertMany(batch);
        }
        if (!idDocs.isEmpty()) {
          ids.insertMany(idDocs);
        }

        // one big archive, incompressible like a real gzip stream
        // the plaintext for nginx, outside the store; the store holds it encrypted, as the dump worker writes it
        Path big = Files.createDirectories(work.resolve("plain/addon-0/big")).resolve("20261122010000_db.tar.gz");
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(big)) {
          for (long written = 0; written < archiveBytes; written += chunk.length) {
            random.nextBytes(chunk);
            sha.update(chunk);
            out.write(chunk);
          }
        }
        backups.insertOne(new Document("_id", "big").append("addonId", "addon-0").append("appName", "app-0").append("kind", "MANUAL")
            .append("createdAt", Date.from(now)).append("status", "DONE").append("rank", 2).append("size", archiveBytes)
            .append("sha256", HexFormat.of().formatHex(sha.digest())).append("archiveKey", BIG_KEY)
            .append("archiveName", "20261122010000_db.tar.gz"));
      }
      var store = new dev.backstop.kit.archive.FilesystemArchiveStore(archives);
      Path sealed = work.resolve("sealed");
      new dev.backstop.kit.archive.ArchiveCipher(store, java.util.Base64.getDecoder().decode(SECRETS_KEY))
          .encrypt("addon-0", BIG_KEY, work.resolve("plain/addon-0/big/20261122010000_db.tar.gz"), sealed);
      store.put(BIG_KEY, sealed);
      Files.delete(sealed);
      System.err.printf(Locale.ROOT, "catalog of %,d backups written in %.1f s%n", (long) addons * perAddon, (System.nanoTime() - t0) / 1e9);

      // the gateway as deployed: its own JVM (the -exec jar), configured by environment; the broker and
      // the store stay in this process, in the role of the Kafka and MongoDB servers
      int port = 18000 + new Random().nextInt(1000);
      Path jar;
      try (var files = Files.list(Path.of("api-gateway/target"))) {
        jar = files.filter(f -> f.getFileName().toString().endsWith("-exec.jar")).findFirst()
            .orElseThrow(() -> new IllegalStateException("build api-gateway first (./dev build)"));
      }
      ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx1g", "-XX:+UseZGC", "-jar", jar.toString()).redirectErrorStream(true)
          .redirectOutput(work.resolve("gateway.log").toFile());
      builder.environment().putAll(Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(), "MONGODB_URI", mongo.uri(),
          "BACKSTOP_ARCHIVE_DIR", archives.toString(), "BACKSTOP_SECRETS_KEY", SECRETS_KEY,
          "BACKSTOP_OPERATOR_TOKEN", TOKEN, "PORT", Integer.toString(port)));
      Process gateway = builder.start();
      String base = "http://127.0.0.1:" + port;
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String last = base + "/v1/apps/app-" + (addons - 1) + "/addons/addon-" + (addons - 1);
      for (long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos(); ; Thread.sleep(500)) {
        try {
          if (http.send(get(last), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            break;
          }
        } catch (IOException notYetListening) {
          // starting
        }
        if (!gateway.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("the gateway did not start: see " + work.resolve("gateway.log"));
        }
      }
      String sample = http.send(get(base + "/v1/apps/app-1/addons/addon-1/backups"), HttpResponse.BodyHandlers.ofString()).body();
      if (!sample.contains("\"id\"") || sample.split("\"id\"").length - 1 != perAddon) {
        throw new IllegalStateException("the listing does not show the catalog: " + sample.substring(0, Math.min(300, sample.length())));
      }

      Random pick = new Random(2);
      List<URI> listings = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        int a = pick.nextInt(addons);
        listings.add(URI.create(base + "/v1/apps/app-" + a + "/addons/addon-" + a + "/backups"));
      }
      List<URI> floor = List.of(URI.create(base + "/v1/openapi.yaml"));
      load(http, listings, rate, 10);
      load(http, floor, rate, 10);
      long s0 = System.nanoTime();
      int sequential = Integer.getInteger("bench.sequential", 2_000);
      for (int i = 0; i < sequential; i++) {
        http.send(HttpRequest.newBuilder(listings.get(i % listings.size())).header("Authorization", "Bearer " + TOKEN).build(),
            HttpResponse.BodyHandlers.ofByteArray());
      }
      System.err.printf(Locale.ROOT, "one listing at a time: %.2f ms each%n", (System.nanoTime() - s0) / 1e6 / sequential);
      double[] listing = load(http, listings, rate, seconds);
      double[] statik = load(http, floor, rate, seconds);
      String day = LocalDate.now().toString();
      System.out.printf(Locale.ROOT, "| %s | listing | Backstop: `GET …/backups` of a random addon (100 backups each), %,d backups in the catalog, "
          + "%d req/s for %d s | p50 %.1f ms | p99 %.1f ms | max %.1f ms, %d errors |%n", day, (long) addons * perAddon, rate, seconds,
          listing[0], listing[1], listing[2], (long) listing[3]);
      System.out.printf(Locale.ROOT, "| %s | listing | floor: a static file through the same server, same rate | p50 %.1f ms | p99 %.1f ms | max %.1f ms, %d errors |%n",
          day, statik[0], statik[1], statik[2], (long) statik[3]);

      // downloads: the gateway against nginx on the same file, fetched by curl in turn
      int nginxPort = 18000 + new Random().nextInt(1000);
      Path conf = work.resolve("nginx.conf");
      Files.writeString(conf, """
          daemon off; worker_processes 1; pid %1$s/nginx.pid; error_log %1$s/error.log;
          events { worker_connections 64; }
          http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path %1$s; proxy_temp_path %1$s;
            fastcgi_temp_path %1$s; uwsgi_temp_path %1$s; scgi_temp_path %1$s;
            server { listen 127.0.0.1:%2$d; root %3$s; } }
          """.formatted(work, nginxPort, work.resolve("plain")));
      Process nginx = new ProcessBuilder("nginx", "-c", conf.toString(), "-p", work.toString()).inheritIO().start();
      try {
        Thread.sleep(500);
        // a signed link, as a browser downloads: no token on curl's command line
        String link = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/apps/app-0/addons/addon-0/backups/big/links"))
            .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString()).body().replaceAll("(?s).*\"url\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        String gatewayUrl = link.startsWith("http") ? link : base + link;
        String nginxUrl = "http://127.0.0.1:" + nginxPort + "/addon-0/big/20261122010000_db.tar.gz";
        double[] medians = downloads(gatewayUrl, nginxUrl, archiveBytes);
        System.out.printf(Locale.ROOT, "| %s | download | Backstop: a %d MiB archive, encrypted at rest and decrypted on the fly, through a signed link (`GET /v1/downloads/…`), curl, median of 7 after a warm-up | %.0f MB/s | %.2f× nginx | |%n",
            day, archiveBytes >> 20, medians[0] / 1e6, medians[0] / medians[1]);
        System.out.printf(Locale.ROOT, "| %s | download | baseline: nginx (sendfile) serving the same file, curl, median of 7 after a warm-up | %.0f MB/s | 1.00× | |%n",
            day, medians[1] / 1e6);
      } finally {
        nginx.destroy();
        nginx.waitFor(10, TimeUnit.SECONDS);
      }
      gateway.destroy();
      gateway.waitFor(30, TimeUnit.SECONDS);
    }
    System.exit(0);
  }

  /**
   * Medians of 7 downloads each through the gateway and nginx, taken in turn, after one of each that is
   * not counted (the file entering the page cache, the gateway's JIT compiling the download path): bytes
   * per second.
   */
  private static double[] downloads(String gatewayUrl, String nginxUrl, long archiveBytes) throws Exception {
    System.err.printf(Locale.ROOT, "warm-up downloads, MB/s: gateway %.0f, nginx %.0f%n", curl(gatewayUrl, archiveBytes) / 1e6,
        curl(nginxUrl, archiveBytes) / 1e6);
    double[] viaGateway = new double[7];
    double[] plain = new double[7];
    for (int round = 0; round < viaGateway.length; round++) {
      viaGateway[round] = curl(gatewayUrl, archiveBytes);
      plain[round] = curl(nginxUrl, archiveBytes);
    }
    System.err.printf(Locale.ROOT, "downloads, MB/s, in the order run: gateway %s, nginx %s%n",
        Arrays.toString(Arrays.stream(viaGateway).mapToLong(b -> Math.round(b / 1e6)).toArray()),
        Arrays.toString(Arrays.stream(plain).mapToLong(b -> Math.round(b / 1e6)).toArray()));
    Arrays.sort(viaGateway);
    Arrays.sort(plain);
    return new double[] {viaGateway[viaGateway.length / 2], plain[plain.length / 2]};
  }

  private static HttpRequest get(String url) {
    return HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + TOKEN).build();
  }

  /** Sends GETs at a fixed rate for the given time; returns p50, p99, max (ms) and the error count. */
  private static double[] load(HttpClient http, List<URI> targets, int rate, int seconds) throws Exception {
    int total = rate * seconds;
    long interval = 1_000_000_000L / rate;
    long[] latencies = new long[total];
    int[] errors = new int[1];
    List<CompletableFuture<Void>> pending = new ArrayList<>(total);
    try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
      long start = System.nanoTime();
      for (int i = 0; i < total; i++) {
        long due = start + i * interval;
        LockSupport.parkNanos(due - System.nanoTime());
        int n = i;
        URI target = targets.get(i % targets.size());
        pending.add(CompletableFuture.runAsync(() -> {
          try {
            var response = http.send(HttpRequest.newBuilder(target).header("Authorization", "Bearer " + TOKEN).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
              synchronized (errors) {
                errors[0]++;
              }
            }
          } catch (IOException | InterruptedException e) {
            synchronized (errors) {
              errors[0]++;
            }
          }
          latencies[n] = System.nanoTime() - due;
        }, senders));
      }
      CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
    }
    Arrays.sort(latencies);
    return new double[] {latencies[total / 2] / 1e6, latencies[(int) (total * 0.99)] / 1e6, latencies[total - 1] / 1e6, errors[0]};
  }

  /** Bytes per second of one download by curl, after checking it got every byte. */
  private static double curl(String url, long expected) throws Exception {
    Process p = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}", url).redirectErrorStream(true).start();
    String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
    if (p.waitFor() != 0 || Long.parseLong(out[0]) != expected) {
      throw new IllegalStateException("download of " + url + " failed: " + String.join(" ", out));
    }
    return Double.parseDouble(out[1]);
  }

  private GatewayBench() {}
}
