package dev.backstop.testing;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A MongoDB-wire-compatible server inside this JVM (mongo-java-server): in memory for tests, or in an
 * H2 file for the embedded mode. It has no change streams and no transactions, so Backstop uses
 * neither (idempotent upserts and conditional updates instead).
 */
public final class InProcessMongo implements MongoHandle {

  private final MongoServer server;
  private final String uri;

  private InProcessMongo(MongoServer server, String uri) {
    this.server = server;
    this.uri = uri;
  }

  public static InProcessMongo inMemory() {
    MongoServer server = new MongoServer(new MemoryBackend());
    var address = server.bind();
    return new InProcessMongo(server, "mongodb://127.0.0.1:" + address.getPort());
  }

  /** Persists under {@code dir}; {@code port} 0 picks a free one. */
  public static InProcessMongo persistent(Path dir, int port) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    MongoServer server = new MongoServer(new H2Backend(dir.resolve("backstop.mv").toString()));
    server.bind("127.0.0.1", port);
    return new InProcessMongo(server, "mongodb://127.0.0.1:" + server.getLocalAddress().getPort());
  }

  @Override
  public String uri() {
    return uri;
  }

  @Override
  public void close() {
    server.shutdownNow();
  }
}
