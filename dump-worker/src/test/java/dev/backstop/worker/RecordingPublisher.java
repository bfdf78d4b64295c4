package dev.backstop.worker;

import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.schemas.Topics;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/** Publishes nowhere: keeps what a job sent for the test to read, its progress reports apart from its events. */
public final class RecordingPublisher extends EventPublisher {

  /** Everything but progress, in the order it was sent. */
  public final List<SpecificRecord> events = Collections.synchronizedList(new ArrayList<>());
  /** The progress reports, in the order they were sent. */
  public final List<SpecificRecord> progress = Collections.synchronizedList(new ArrayList<>());

  public RecordingPublisher() {
    super(null, () -> "unused:9092");
  }

  @Override
  public void publish(String topic, String key, SpecificRecord event) {
    (topic.equals(Topics.BACKUP_PROGRESS) ? progress : events).add(event);
  }
}
