package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.worker.mysql.MysqlFailures;
import dev.backstop.worker.postgres.PostgresFailures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The silence watch of a dump tool: a tool whose output stops is stopped; one that is slow to be read is not. */
class ExternalCommandTest {

  @TempDir Path scratch;

  private void run(String script, Duration silence, OutputStream out) throws DumpFailedException, IOException {
    ExternalCommand.runWithSecretFile("sh", scratch.resolve("secret"), "unused", Scrubber.hiding(), List.of("sh", "-c", script),
        Map.of(), scratch, Duration.ofMinutes(1), silence, out);
  }

  @Test
  void a_tool_whose_output_stops_for_the_stall_timeout_is_stopped_and_the_attempt_is_transient() {
    long began = System.nanoTime();

    assertThatThrownBy(() -> run("printf started; exec sleep 30", Duration.ofSeconds(1), new ByteArrayOutputStream()))
        .isInstanceOf(DumpFailedException.class)
        .hasMessage("sh stopped answering: nothing came out of it for 1 s, it was stopped "
            + "(the database host gone without closing the connection?)")
        .satisfies(e -> {
          assertThat(PostgresFailures.CLASSIFIER.isTransient(e.getMessage())).as("retried by a PostgreSQL dump").isTrue();
          assertThat(MysqlFailures.CLASSIFIER.isTransient(e.getMessage())).as("retried by a MySQL dump").isTrue();
        });
    assertThat(Duration.ofNanos(System.nanoTime() - began)).as("stopped, not waited for").isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void a_tool_that_goes_on_writing_is_never_stopped_however_long_it_runs() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    // 2.4 s in all, never more than 0.3 s without a byte
    run("for i in 1 2 3 4 5 6 7 8; do printf x; sleep 0.3; done", Duration.ofSeconds(1), out);

    assertThat(out.toString()).isEqualTo("xxxxxxxx");
  }

  @Test
  void a_slow_write_of_what_the_tool_gave_is_not_the_tools_silence() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    OutputStream slow = new OutputStream() {
      private boolean stalled;

      @Override
      public void write(int b) {
        out.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (!stalled) {
          // a store that stalls for longer than the stall timeout on the first write
          stalled = true;
          try {
            Thread.sleep(2000);
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
        }
        out.write(b, off, len);
      }
    };

    run("head -c 300000 /dev/zero", Duration.ofSeconds(1), slow);

    assertThat(out.size()).isEqualTo(300000);
  }
}
