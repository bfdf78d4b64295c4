package dev.backstop.testing;

import dev.backstop.inprocess.InProcessMongo;
import dev.backstop.inprocess.MongoHandle;

/**
 * The MongoDB the suite runs against: the in-process server by default; a real {@code mongo} in a
 * container with {@code -Dbackstop.test.mongo=container} (the {@code real-mongo} Maven profile, which
 * needs a Docker engine), so that the same tests prove the queries work on both.
 */
public final class TestMongo {

  private TestMongo() {}

  public static MongoHandle start() {
    if ("container".equals(System.getProperty("backstop.test.mongo"))) {
      try {
        // loaded by name: Testcontainers is on the classpath only under the real-mongo profile
        return (MongoHandle) Class.forName("dev.backstop.testing.ContainerMongo").getMethod("start").invoke(null);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot start MongoDB in a container (run with -Preal-mongo and a Docker engine)", e);
      }
    }
    return InProcessMongo.inMemory();
  }
}
