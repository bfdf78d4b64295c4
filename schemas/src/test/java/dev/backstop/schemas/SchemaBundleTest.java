package dev.backstop.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.serde.EventCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * The bundle non-Java subscribers use (released schemas + {@code index.json}) says exactly what the Java
 * side computes: the committed index is the generated one, each file parses on its own, and each listed
 * fingerprint is the one {@link EventCodec} puts on the wire and decodes.
 */
class SchemaBundleTest {

  /** The source folder, as committed (the tests run in the module's folder). */
  private static final Path RELEASED = Path.of("src/main/resources/released");

  @Test
  void the_committed_index_is_the_generated_one() throws Exception {
    assertThat(Files.readString(RELEASED.resolve(SchemaBundle.INDEX)))
        .as("schemas/src/main/resources/released/index.json is stale: run SchemaRelease (schemas/README.md)")
        .isEqualTo(SchemaBundle.index(RELEASED));
  }

  @Test
  void every_released_schema_parses_alone_and_has_the_fingerprint_the_java_codec_accepts() {
    List<SchemaBundle.Entry> entries = SchemaBundle.entries(RELEASED);
    int releasedOnClassPath = EventCodec.EVENT_TYPES.stream().mapToInt(t -> SchemaCompatibilityTest.released(t).size()).sum();
    assertThat(entries).hasSize(releasedOnClassPath);
    for (SchemaBundle.Entry entry : entries) {
      Class<?> type = EventCodec.EVENT_TYPES.stream().filter(t -> t.getSimpleName().equals(entry.event())).findFirst().orElseThrow();
      Schema javaSide = SchemaCompatibilityTest.released(type).get(entry.version() - 1);
      assertThat(entry.fingerprint()).as(entry.file()).isEqualTo(EventCodec.fingerprint(javaSide));
      assertThat(entry.schema().getFullName()).isEqualTo(type.getName());
      // what a subscriber finds in bytes 2..9 of a message is what the index lists
      byte[] header = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(EventCodec.fingerprint(javaSide)).array();
      assertThat(entry.fingerprintBytes()).isEqualTo(HexFormat.of().formatHex(header));
    }
    assertThat(entries.stream().map(SchemaBundle.Entry::fingerprint).distinct()).hasSameSizeAs(entries);
  }

  @Test
  void a_message_the_producers_write_today_is_found_in_the_index_by_its_header_bytes() {
    Map<String, SchemaBundle.Entry> byBytes = SchemaBundle.entries(RELEASED).stream()
        .collect(Collectors.toMap(SchemaBundle.Entry::fingerprintBytes, e -> e));
    for (Class<? extends SpecificRecord> type : EventCodec.EVENT_TYPES) {
      Schema current = SpecificData.get().getSchema(type);
      byte[] header = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(EventCodec.fingerprint(current)).array();
      SchemaBundle.Entry found = byBytes.get(HexFormat.of().formatHex(header));
      assertThat(found)
          .as("%s's current schema is not released: subscribers using the bundle could not read it; run SchemaRelease "
              + "before shipping producers that write it", type.getSimpleName())
          .isNotNull();
      assertThat(found.event()).isEqualTo(type.getSimpleName());
      assertThat(found.latest()).isTrue();
    }
  }

  @Test
  void a_known_schema_has_the_reference_fingerprint_published_in_the_readme() throws Exception {
    // the README's reference values let a team check its own CRC-64-AVRO before trusting it
    String readme = Files.readString(Path.of("README.md"));
    for (SchemaBundle.Entry entry : SchemaBundle.entries(RELEASED)) {
      if (entry.event().equals("AddonRemoved") || entry.event().equals("BackupMissed")) {
        assertThat(readme).contains(entry.fingerprintHex()).contains(entry.fingerprintBytes());
      }
    }
  }
}
