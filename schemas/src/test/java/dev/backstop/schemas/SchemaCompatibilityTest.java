package dev.backstop.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.serde.EventCodec;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every event's current schema must read what its last released version wrote (backward) and be
 * readable by it (forward). A change that breaks either fails here; release a compatible schema with
 * {@link SchemaRelease} (schemas/README.md says how).
 */
class SchemaCompatibilityTest {

  static Stream<Class<?>> events() {
    return EventCodec.EVENT_TYPES.stream().map(c -> c);
  }

  @ParameterizedTest(name = "{0} is released")
  @MethodSource("events")
  void every_event_has_a_released_version(Class<?> type) {
    assertThat(released(type))
        .as("no released schema for %s under schemas/src/main/resources/released/; run SchemaRelease", type.getSimpleName())
        .isNotEmpty();
  }

  @ParameterizedTest(name = "{0} stays backward and forward compatible")
  @MethodSource("events")
  void current_schema_is_compatible_both_ways_with_the_last_release(Class<?> type) {
    Schema current = SpecificData.get().getSchema(type);
    List<Schema> versions = released(type);
    Schema last = versions.get(versions.size() - 1);

    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(current, last).getType())
        .as("backward: %s's new schema must read data written with the released one", type.getSimpleName())
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(last, current).getType())
        .as("forward: %s's released schema must read data written with the new one", type.getSimpleName())
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
  }

  @ParameterizedTest(name = "{0} released versions are compatible in sequence")
  @MethodSource("events")
  void each_release_is_compatible_with_the_one_before(Class<?> type) {
    List<Schema> versions = released(type);
    for (int i = 1; i < versions.size(); i++) {
      assertThat(SchemaCompatibility.checkReaderWriterCompatibility(versions.get(i), versions.get(i - 1)).getType())
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
      assertThat(SchemaCompatibility.checkReaderWriterCompatibility(versions.get(i - 1), versions.get(i)).getType())
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }
  }

  static List<Schema> released(Class<?> type) {
    List<Schema> found = new ArrayList<>();
    for (int v = 1; ; v++) {
      try (InputStream in = type.getResourceAsStream("/released/" + type.getSimpleName() + "/v" + v + ".avsc")) {
        if (in == null) {
          return found;
        }
        found.add(new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
