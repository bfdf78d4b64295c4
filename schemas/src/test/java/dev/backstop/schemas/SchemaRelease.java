package dev.backstop.schemas;

import dev.backstop.schemas.serde.EventCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;

/**
 * Releases the current schemas: for each event whose schema differs from its last released version,
 * writes the next {@code released/<Event>/vN.avsc} (self-contained, named types inlined). Run it from
 * the schemas folder when a version of Backstop ships; SchemaCompatibilityTest guards the step.
 */
public final class SchemaRelease {
  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length > 0 ? args[0] : "src/main/resources/released");
    for (Class<?> type : EventCodec.EVENT_TYPES) {
      Schema current = SpecificData.get().getSchema(type);
      var versions = SchemaCompatibilityTest.released(type);
      if (!versions.isEmpty()
          && EventCodec.fingerprint(versions.get(versions.size() - 1)) == EventCodec.fingerprint(current)) {
        continue;
      }
      Path file = root.resolve(type.getSimpleName()).resolve("v" + (versions.size() + 1) + ".avsc");
      Files.createDirectories(file.getParent());
      Files.writeString(file, current.toString(true) + "\n");
      System.out.println("released " + file);
    }
    // the bundle's index must name the versions just written: its entries come from the class path
    Files.writeString(root.resolve(SchemaBundle.INDEX), SchemaBundle.index(root));
    System.out.println("wrote " + root.resolve(SchemaBundle.INDEX));
  }

  private SchemaRelease() {}
}
