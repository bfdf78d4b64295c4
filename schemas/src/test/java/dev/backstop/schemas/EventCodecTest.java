package dev.backstop.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.schemas.serde.EventCodec;
import dev.backstop.schemas.serde.EventDeserializer;
import dev.backstop.schemas.serde.EventSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class EventCodecTest {

  private final Instant at = Instant.parse("2026-11-21T00:00:10Z");

  @Test
  void an_event_comes_back_as_its_own_class_from_its_fingerprint() {
    BackupRequested requested = new BackupRequested("b1", "addon-1", "my-app", BackupKind.MANUAL, at, null, null, null);
    BackupCompleted completed =
        new BackupCompleted("b1", "addon-1", "my-app", BackupKind.MANUAL, at, at, at.plusSeconds(3),
            "SECONDARY@10.0.0.2:5432", "business plan: dumped on a secondary", "addon-1/b1/x.tar.gz", "20261121000010_my_db.tar.gz", 42L, "ab", 3, null, null, null);

    var serializer = new EventSerializer();
    var deserializer = new EventDeserializer();

    assertThat(deserializer.deserialize("t", serializer.serialize("t", requested))).isEqualTo(requested);
    assertThat(deserializer.deserialize("t", serializer.serialize("t", completed))).isEqualTo(completed);
  }

  @Test
  void message_starts_with_the_single_object_marker_and_the_schema_fingerprint() {
    byte[] bytes = EventCodec.get().encode(new BackupRequested("b1", "a", "app", BackupKind.SCHEDULED, at, "2026-11-21", null, null));
    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    long fp = java.nio.ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(fp).isEqualTo(EventCodec.fingerprint(BackupRequested.getClassSchema()));
  }

  @Test
  void garbage_is_a_serialization_error_not_a_crash() {
    assertThatThrownBy(() -> new EventDeserializer().deserialize("t", "hello".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("single-object");
  }

  @Test
  void a_sealed_password_opens_only_for_its_addon_and_never_holds_the_clear_text() {
    SecretSealer sealer = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    var sealed = sealer.seal("addon-1", "s3cret-password");

    byte[] raw = sealed.getCiphertext().array();
    assertThat(new String(raw, StandardCharsets.ISO_8859_1)).doesNotContain("s3cret");
    assertThat(sealer.open("addon-1", sealed)).isEqualTo("s3cret-password");
    assertThatThrownBy(() -> sealer.open("addon-2", sealed)).hasMessageContaining("does not open");
    SecretSealer other = SecretSealer.fromBase64(SecretSealer.newBase64Key());
    assertThatThrownBy(() -> other.open("addon-1", sealed)).hasMessageContaining("sealed with key");
  }
}
