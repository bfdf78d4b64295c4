package dev.backstop.worker.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.DumpTarget;
import dev.backstop.worker.engine.OutputBuffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dump at the end of a point-in-time restore runs the scratch server's own pg_dump as a backup's runs, and is timed as one. */
class ScratchDumpEngineTest {

  @Test
  void the_recovered_database_is_dumped_by_the_scratch_servers_pg_dump_through_the_workers_output_buffer(
      @TempDir Path dir) throws Exception {
    // the scratch server's binaries: a pg_dump that says where it was run from, with what buffer, over which host
    Path binaries = Files.createDirectories(dir.resolve("bin"));
    Path pgDump = binaries.resolve("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\necho \"$0 buffer ${_STDBUF_O:-none} args $*\"\n");
    assertThat(pgDump.toFile().setExecutable(true)).isTrue();
    Path socket = Files.createDirectories(dir.resolve("socket"));
    WorkerProperties worker = WorkerProperties.bind(Map.of());
    OutputBuffer configured = OutputBuffer.find(worker.dumpOutputBuffer().toBytes(), System.getenv("PATH"));
    assertThat(configured.buffers()).as("stdbuf on this machine's PATH").isTrue();

    assertThat(dump(PitrRestoreJob.scratchDumpEngine(binaries, socket, worker, configured), dir))
        .startsWith(pgDump + " buffer 65536 args ").contains(" --host " + socket + " --port 5432 ");
    assertThat(dump(PitrRestoreJob.scratchDumpEngine(binaries, socket, worker, OutputBuffer.TOOLS_OWN), dir))
        .startsWith(pgDump + " buffer none args ").contains(" --host " + socket + " --port 5432 ");
  }

  @Test
  @org.junit.jupiter.api.Timeout(60) // without the stall timeout, the silent pg_dump would hold the test this long
  void a_pg_dump_that_writes_nothing_is_stopped_after_the_workers_stall_timeout(@TempDir Path dir) throws Exception {
    Path binaries = Files.createDirectories(dir.resolve("bin"));
    Path pgDump = binaries.resolve("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\nexec sleep 120\n");
    assertThat(pgDump.toFile().setExecutable(true)).isTrue();
    WorkerProperties worker = WorkerProperties.bind(Map.of("dump-stall-timeout", "1s"));

    assertThatThrownBy(() -> dump(PitrRestoreJob.scratchDumpEngine(binaries, Files.createDirectories(dir.resolve("socket")),
        worker, OutputBuffer.TOOLS_OWN), dir))
        .isInstanceOf(dev.backstop.worker.engine.DumpFailedException.class)
        .hasMessageContaining("nothing came out of it for 1");
  }

  @Test
  void the_dumping_phase_is_logged_in_parts_as_a_backups_is() {
    long s = 5_000_000_000L;
    assertThat(PitrRestoreJob.dumpBreakdown(s, s + 40_000_000L, s + 12_000_000_000L, s + 12_400_000_000L,
        s + 12_402_000_000L)).isEqualTo("first byte 40 ms, pg_dump 11960 ms, archive 400 ms, store 2 ms");
    // nothing written: no first byte to speak of
    assertThat(PitrRestoreJob.dumpBreakdown(s, 0, s + 30_000_000L, s + 31_000_000L, s + 31_000_000L))
        .isEqualTo("pg_dump 30 ms, archive 1 ms, store 0 ms");
  }

  private static String dump(dev.backstop.worker.postgres.PostgresDumpEngine engine, Path dir) throws Exception {
    Path scratch = Files.createTempDirectory(dir, "scratch");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    engine.dump(new DumpTarget("localhost", 5432, "shop", "shop", ""), out, scratch);
    return out.toString(StandardCharsets.UTF_8);
  }
}
