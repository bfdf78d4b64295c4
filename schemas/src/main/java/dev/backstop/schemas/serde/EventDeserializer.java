package dev.backstop.schemas.serde;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka value deserializer for Backstop events: returns the generated class the fingerprint names.
 * Wrap it in an error-handling deserializer so that one undecodable record does not stop a consumer.
 */
public class EventDeserializer implements Deserializer<SpecificRecord> {
  @Override
  public SpecificRecord deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    try {
      return EventCodec.get().decode(data);
    } catch (RuntimeException e) {
      throw new SerializationException("cannot decode a record of " + topic + ": " + e.getMessage(), e);
    }
  }
}
