package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InputsInSequenceTest {

  @Test
  void the_streams_read_as_one_stay_open_after_their_end_until_the_sequence_is_closed() throws IOException {
    AtomicInteger closed = new AtomicInteger();
    InputStream archive = new ByteArrayInputStream("dump".getBytes()) {
      @Override
      public void close() {
        closed.incrementAndGet();
      }
    };
    InputStream sequence = new InputsInSequence(new ByteArrayInputStream("SET x;\n".getBytes()), archive,
        new ByteArrayInputStream("\nCOMMIT;".getBytes()));

    assertThat(new String(sequence.readAllBytes())).isEqualTo("SET x;\ndump\nCOMMIT;");
    assertThat(closed).as("the archive is checked to its end after the dump").hasValue(0);
    sequence.close();
    assertThat(closed).hasValue(1);
  }
}
