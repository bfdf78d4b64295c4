package dev.backstop.testing;

import dev.backstop.inprocess.MongoHandle;
import org.testcontainers.mongodb.MongoDBContainer;

/** A real MongoDB in a container (Testcontainers); see {@link TestMongo}. */
public final class ContainerMongo implements MongoHandle {

  private final MongoDBContainer container;

  private ContainerMongo(MongoDBContainer container) {
    this.container = container;
  }

  public static ContainerMongo start() {
    MongoDBContainer container = new MongoDBContainer("mongo:8.0");
    container.start();
    return new ContainerMongo(container);
  }

  @Override
  public String uri() {
    return container.getConnectionString();
  }

  @Override
  public void close() {
    container.stop();
  }
}
