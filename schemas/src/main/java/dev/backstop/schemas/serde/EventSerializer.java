package dev.backstop.schemas.serde;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/** Kafka value serializer for Backstop events; see {@link EventCodec} for the wire format. */
public class EventSerializer implements Serializer<SpecificRecord> {
  @Override
  public byte[] serialize(String topic, SpecificRecord event) {
    return event == null ? null : EventCodec.get().encode(event);
  }
}
