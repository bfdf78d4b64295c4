package dev.backstop.schemas.serde;

import org.apache.avro.util.ClassSecurityValidator;

/**
 * Avro 1.12 refuses to instantiate classes outside its trusted packages and then hands consumers raw
 * bytes; trust the generated event package once per JVM, keeping whatever was trusted before.
 */
public final class AvroTrust {

  private static final String EVENTS_PACKAGE = "dev.backstop.schemas.events.";
  private static volatile boolean done;

  private AvroTrust() {}

  public static synchronized void ensure() {
    if (done) {
      return;
    }
    ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
    ClassSecurityValidator.setGlobal(
        ClassSecurityValidator.composite(
            previous, type -> type.getName().startsWith(EVENTS_PACKAGE)));
    done = true;
  }
}
