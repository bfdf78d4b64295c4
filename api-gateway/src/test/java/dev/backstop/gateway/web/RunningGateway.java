package dev.backstop.gateway.web;

import com.mongodb.client.MongoDatabase;
import dev.backstop.gateway.GatewayApplication;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.testing.TestMongo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.bson.Document;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoSpyBean;
import org.springframework.util.FileSystemUtils;

/**
 * The gateway as it runs: its own configuration file, Tomcat on a random port, a real (in-process)
 * Kafka broker and MongoDB-wire store, started once for every test class extending this one (they
 * share the Spring context). Requests go through a real HTTP client, or a raw socket where the
 * client would not send what a test needs, so that Tomcat's own handling is part of what is tested.
 */
@SpringBootTest(classes = GatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "spring.config.name=api-gateway")
abstract class RunningGateway {

  static final String OPERATOR = "hardening-operator-token-0123456789";

  private static InProcessKafka kafka;
  private static MongoHandle mongo;
  private static Path archives;
  private static final String SECRETS_KEY = SecretSealer.newBase64Key();

  @DynamicPropertySource
  static synchronized void infrastructure(DynamicPropertyRegistry registry) throws IOException {
    if (kafka == null) {
      kafka = InProcessKafka.startTemporary();
      mongo = TestMongo.start();
      archives = Files.createTempDirectory("gateway-archives");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        kafka.close();
        mongo.close();
        try {
          FileSystemUtils.deleteRecursively(archives);
        } catch (IOException e) {
          // the JVM is exiting and nothing reads the archives any more: what cannot go stays in the temp directory
        }
      }));
    }
    registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    registry.add("spring.cloud.stream.kafka.binder.brokers", kafka::bootstrapServers);
    registry.add("spring.mongodb.uri", mongo::uri);
    registry.add("backstop.archive.directory", archives::toString);
    registry.add("backstop.secrets.key", () -> SECRETS_KEY);
    registry.add("backstop.gateway.operator-token", () -> OPERATOR);
  }

  /** The broker's address, for tests that publish what other services would. */
  static String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  @LocalServerPort int port;
  @Autowired MongoDatabase database;
  @MockitoSpyBean EventPublisher publisher;

  final HttpClient http = HttpClient.newHttpClient();

  /** A response, with header names in lower case. */
  record Answer(int status, Map<String, List<String>> headers, byte[] bytes) {
    String body() {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null || values.isEmpty() ? null : values.getFirst();
    }
  }

  Answer send(HttpRequest.Builder request) {
    try {
      HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      Map<String, List<String>> headers = new TreeMap<>();
      response.headers().map().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v));
      return new Answer(response.statusCode(), headers, response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpRequest.Builder request(String pathAndQuery) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery));
  }

  HttpRequest.Builder asOperator(String pathAndQuery) {
    return request(pathAndQuery).header("Authorization", "Bearer " + OPERATOR);
  }

  /**
   * Sends {@code head} (request line and headers, without the blank line) and {@code body} as they are,
   * on a connection of its own, for what an HTTP client refuses to send (a Host header of one's choice,
   * a raw path).
   */
  Answer raw(String head, byte[] body) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write((head + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      byte[] all;
      try (InputStream in = socket.getInputStream()) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
          in.transferTo(bytes);
        } catch (IOException e) {
          // reset after the answer (the server closes without reading an unread body): keep what came
        }
        all = bytes.toByteArray();
      }
      String text = new String(all, StandardCharsets.UTF_8);
      int end = text.indexOf("\r\n\r\n");
      String[] lines = text.substring(0, end < 0 ? text.length() : end).split("\r\n");
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(lines[i].substring(colon + 1).trim());
      }
      String content = end < 0 ? "" : text.substring(end + 4);
      if ("chunked".equalsIgnoreCase(String.join("", headers.getOrDefault("transfer-encoding", List.of())))) {
        content = unchunk(content);
      }
      return new Answer(Integer.parseInt(lines[0].split(" ")[1]), headers, content.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String unchunk(String chunked) {
    StringBuilder out = new StringBuilder();
    int at = 0;
    while (at < chunked.length()) {
      int eol = chunked.indexOf("\r\n", at);
      int size = Integer.parseInt(chunked.substring(at, eol).trim(), 16);
      if (size == 0) {
        break;
      }
      out.append(chunked, eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    return out.toString();
  }

  /** Everything the gateway has stored, to show that a refused request stored nothing. */
  Map<String, List<Document>> stored() {
    Map<String, List<Document>> all = new TreeMap<>();
    for (String name : database.listCollectionNames()) {
      all.put(name, database.getCollection(name).find().into(new ArrayList<>()));
    }
    return all;
  }

  Path archives() {
    return archives;
  }
}
