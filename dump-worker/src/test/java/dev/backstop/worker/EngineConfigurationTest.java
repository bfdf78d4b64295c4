package dev.backstop.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.schemas.events.Engine;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.postgres.PostgresClients;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineConfigurationTest {

  @Test
  void the_workers_dump_tools_run_with_the_configured_output_buffer_and_without_one_at_zero(@TempDir Path dir)
      throws Exception {
    // a dump tool that says what output buffer stdbuf gave it (stdbuf passes it in _STDBUF_O)
    Path tool = dir.resolve("fake-dump");
    Files.writeString(tool, "#!/bin/sh\necho \"buffer ${_STDBUF_O:-none}\"\n");
    assertThat(tool.toFile().setExecutable(true)).isTrue();

    assertThat(dumpOutput(Map.of("mysqldump", tool.toString()), Engine.MYSQL, dir)).isEqualTo("buffer 65536\n");
    assertThat(dumpOutput(Map.of("pg-dump", tool.toString()),
        Engine.POSTGRESQL, dir)).isEqualTo("buffer 65536\n");
    assertThat(dumpOutput(Map.of("mysqldump", tool.toString(), "dump-output-buffer", "0"), Engine.MYSQL, dir))
        .isEqualTo("buffer none\n");
  }

  @Test
  void a_worker_without_stdbuf_says_so_once_at_start_and_runs_the_tools_as_they_are(@TempDir Path dir) {
    var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(EngineConfiguration.class);
    var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    lines.start();
    logger.addAppender(lines);
    try {
      EngineConfiguration configuration = new EngineConfiguration();
      // a PATH holding no stdbuf: the buffer asked for cannot be had
      assertThat(configuration.toolOutputBuffer(WorkerProperties.bind(Map.of()), dir.toString()).buffers()).isFalse();
      assertThat(lines.list).singleElement().satisfies(line -> {
        assertThat(line.getLevel()).isEqualTo(ch.qos.logback.classic.Level.INFO);
        assertThat(line.getFormattedMessage()).startsWith("no working stdbuf on PATH: pg_dump, mysqldump and pg_restore "
            + "write to the worker a page at a time").contains("backstop.worker.dump-output-buffer");
      });
      // none asked for: nothing to say, whatever PATH holds
      assertThat(configuration.toolOutputBuffer(WorkerProperties.bind(Map.of("dump-output-buffer", "0")), dir.toString())
          .buffers()).isFalse();
      // stdbuf found: nothing to say
      assertThat(configuration.toolOutputBuffer(WorkerProperties.bind(Map.of()), System.getenv("PATH")).buffers()).isTrue();
      assertThat(lines.list).hasSize(1);
    } finally {
      logger.detachAppender(lines);
    }
  }

  private static String dumpOutput(Map<String, String> settings, Engine engine, Path dir) throws Exception {
    WorkerProperties properties = WorkerProperties.bind(settings);
    EngineConfiguration configuration = new EngineConfiguration();
    var engines = configuration.dumpEngines(properties, PostgresClients.fixed(properties.pgDump(), "pg_restore"),
        configuration.toolOutputBuffer(properties));
    Path scratch = Files.createTempDirectory(dir, "scratch");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    engines.get(engine).dump(new DumpTarget("127.0.0.1", 1, "db", "u", "pw"), out, scratch);
    return out.toString(StandardCharsets.UTF_8);
  }
}
