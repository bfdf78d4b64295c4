package dev.backstop.inprocess;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A MongoDB-wire-compatible server inside this JVM (mongo-java-server): in memory for tests, or in an
 * H2 file for the embedded mode. It has no change streams and no transactions, so Backstop uses
 * neither (idempotent upserts and conditional updates instead). Its {@code _id} indexes answer queries
 * that add conditions to an {@code _id}, as MongoDB's do ({@link IdLookupIndex}).
 */
public final class InProcessMongo implements MongoHandle {

  private final MongoServer server;
  private final String uri;

  private InProcessMongo(MongoServer server, String uri) {
    this.server = server;
    this.uri = uri;
  }

  public static InProcessMongo inMemory() {
    MongoServer server = new MongoServer(new MemoryBackend() {
      @Override
      public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new MemoryDatabase(databaseName, getCursorRegistry()) {
          @Override
          protected Index<Integer> openOrCreateUniqueIndex(String collection, String name, List<IndexKey> keys, boolean sparse) {
            return IdLookupIndex.wrap(super.openOrCreateUniqueIndex(collection, name, keys, sparse));
          }
        };
      }
    });
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
    MongoServer server = new MongoServer(new H2Backend(dir.resolve("backstop.mv").toString()) {
      @Override
      protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new H2Database(databaseName, getMvStore(), getCursorRegistry()) {
          @Override
          protected Index<Object> openOrCreateUniqueIndex(String collection, String name, List<IndexKey> keys, boolean sparse) {
            return IdLookupIndex.wrap(super.openOrCreateUniqueIndex(collection, name, keys, sparse));
          }
        };
      }
    });
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
