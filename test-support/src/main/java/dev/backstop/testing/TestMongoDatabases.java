package dev.backstop.testing;

import dev.backstop.inprocess.MongoHandle;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The suite's MongoDB ({@link TestMongo}: in-process, or a container under {@code -Preal-mongo}) for one
 * test class, with a fresh database whenever a test wants one:
 * {@code @RegisterExtension static final TestMongoDatabases mongo = new TestMongoDatabases();}
 */
public final class TestMongoDatabases implements BeforeAllCallback, AfterAllCallback {

  private MongoHandle mongo;
  private MongoClient client;

  @Override
  public void beforeAll(ExtensionContext context) {
    mongo = TestMongo.start();
    client = MongoClients.create(mongo.uri());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    client.close();
    mongo.close();
  }

  /** A database no other test has used. */
  public MongoDatabase fresh(String prefix) {
    return client.getDatabase(prefix + "-" + System.nanoTime());
  }

  /** A database by name, shared by the tests that name it. */
  public MongoDatabase named(String name) {
    return client.getDatabase(name);
  }
}
