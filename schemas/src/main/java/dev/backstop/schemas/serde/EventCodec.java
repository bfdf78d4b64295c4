package dev.backstop.schemas.serde;

import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.BackupCompleted;
import dev.backstop.schemas.events.BackupFailed;
import dev.backstop.schemas.events.BackupMissed;
import dev.backstop.schemas.events.BackupProgress;
import dev.backstop.schemas.events.BackupPruned;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.BackupStarted;
import dev.backstop.schemas.events.BackupVerified;
import dev.backstop.schemas.events.PitrWindowChanged;
import dev.backstop.schemas.events.WalArchived;
import dev.backstop.schemas.events.WalGapDetected;
import dev.backstop.schemas.events.WalTimelineSwitched;
import dev.backstop.schemas.events.WebhookDeliveryAttempted;
import dev.backstop.schemas.events.WebhookEndpointDisabled;
import dev.backstop.schemas.events.WebhookEndpointRegistered;
import dev.backstop.schemas.events.WebhookEndpointRemoved;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes and decodes Backstop events in Avro single-object encoding: two marker bytes {@code C3 01},
 * the 8-byte little-endian CRC-64-AVRO fingerprint of the writer's schema, then the Avro binary body.
 *
 * <p>The fingerprint tells which event a message holds, so one topic can carry several event types
 * and a reader picks the schema by fingerprint alone. Each event decodes from its current schema and
 * from every released one under {@code released/} (see schemas/README.md).
 */
public final class EventCodec {

  /** Every event type that travels on a topic. */
  public static final List<Class<? extends SpecificRecord>> EVENT_TYPES =
      List.of(
          AddonRegistered.class,
          AddonChanged.class,
          AddonRemoved.class,
          BackupRequested.class,
          BackupStarted.class,
          BackupCompleted.class,
          BackupFailed.class,
          BackupPruned.class,
          BackupVerified.class,
          BackupMissed.class,
          BackupProgress.class,
          PitrWindowChanged.class,
          WalTimelineSwitched.class,
          WalGapDetected.class,
          WalArchived.class,
          WebhookEndpointRegistered.class,
          WebhookEndpointRemoved.class,
          WebhookEndpointDisabled.class,
          WebhookDeliveryAttempted.class);

  private static final byte MARKER_1 = (byte) 0xC3;
  private static final byte MARKER_2 = (byte) 0x01;
  private static final int HEADER = 10;

  private static final EventCodec INSTANCE = new EventCodec();

  private final Map<Class<?>, BinaryMessageEncoder<SpecificRecord>> encoders = new HashMap<>();
  private final Map<Long, BinaryMessageDecoder<SpecificRecord>> decoders = new HashMap<>();

  private EventCodec() {
    AvroTrust.ensure();
    for (Class<? extends SpecificRecord> type : EVENT_TYPES) {
      Schema current = SpecificData.get().getSchema(type);
      SpecificData model = SpecificData.getForClass(type);
      encoders.put(type, new BinaryMessageEncoder<>(model, current));
      BinaryMessageDecoder<SpecificRecord> decoder = new BinaryMessageDecoder<>(model, current);
      decoders.put(fingerprint(current), decoder);
      for (Schema released : ReleasedSchemas.of(type)) {
        decoder.addSchema(released);
        decoders.put(fingerprint(released), decoder);
      }
    }
  }

  public static EventCodec get() {
    return INSTANCE;
  }

  public byte[] encode(SpecificRecord event) {
    BinaryMessageEncoder<SpecificRecord> encoder = encoders.get(event.getClass());
    if (encoder == null) {
      throw new IllegalArgumentException("not a Backstop event: " + event.getClass().getName());
    }
    try {
      ByteBuffer buffer = encoder.encode(event);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public SpecificRecord decode(byte[] message) {
    if (message.length < HEADER || message[0] != MARKER_1 || message[1] != MARKER_2) {
      throw new IllegalArgumentException("not an Avro single-object message");
    }
    long fingerprint = ByteBuffer.wrap(message, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    BinaryMessageDecoder<SpecificRecord> decoder = decoders.get(fingerprint);
    if (decoder == null) {
      throw new IllegalArgumentException(
          "unknown schema fingerprint " + Long.toHexString(fingerprint) + ": a newer, unreleased event?");
    }
    try {
      return decoder.decode(message);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static long fingerprint(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /** Released schemas, self-contained (named types inlined), one file per version. */
  static final class ReleasedSchemas {
    static List<Schema> of(Class<?> type) {
      String name = type.getSimpleName();
      java.util.ArrayList<Schema> found = new java.util.ArrayList<>();
      for (int version = 1; ; version++) {
        String path = "/released/" + name + "/v" + version + ".avsc";
        try (InputStream in = EventCodec.class.getResourceAsStream(path)) {
          if (in == null) {
            return found;
          }
          found.add(new Schema.Parser().parse(in));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + path, e);
        }
      }
    }

    private ReleasedSchemas() {}
  }
}
