package dev.backstop.kit.store;

import java.time.ZoneId;
import org.bson.BsonReader;
import org.bson.BsonWriter;
import org.bson.codecs.Codec;
import org.bson.codecs.DecoderContext;
import org.bson.codecs.EncoderContext;
import org.bson.codecs.configuration.CodecProvider;
import org.bson.codecs.configuration.CodecRegistry;

/** A time zone as its IANA id ({@code "Europe/Paris"}), the form people read and the events carry. */
final class ZoneIdCodec implements Codec<ZoneId> {

  /** Serves {@code ZoneId} and its JDK subclasses ({@code ZoneRegion}, {@code ZoneOffset}), whichever is asked. */
  static final CodecProvider PROVIDER = new CodecProvider() {
    @Override
    @SuppressWarnings("unchecked")
    public <T> Codec<T> get(Class<T> clazz, CodecRegistry registry) {
      return ZoneId.class.isAssignableFrom(clazz) ? (Codec<T>) new ZoneIdCodec() : null;
    }
  };

  @Override
  public void encode(BsonWriter writer, ZoneId value, EncoderContext encoderContext) {
    writer.writeString(value.getId());
  }

  @Override
  public ZoneId decode(BsonReader reader, DecoderContext decoderContext) {
    return ZoneId.of(reader.readString());
  }

  @Override
  public Class<ZoneId> getEncoderClass() {
    return ZoneId.class;
  }
}
