package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputBufferTest {

  @Test
  void a_tool_runs_through_the_stdbuf_found_on_path_with_its_own_command_line_unchanged_after_it(@TempDir Path dir)
      throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path stdbuf = executable(bin.resolve("stdbuf"));
    Path tool = executable(bin.resolve("pg_dump"));
    String path = dir.resolve("missing") + ":" + bin;

    OutputBuffer buffer = OutputBuffer.find(1 << 20, path);

    assertThat(buffer.buffers()).isTrue();
    assertThat(buffer.around(List.of("pg_dump", "--dbname", "-x"), path))
        .containsExactly(stdbuf.toString(), "--output=1048576", "--", "pg_dump", "--dbname", "-x");
    assertThat(buffer.around(List.of(tool.toString(), "db"), path))
        .containsExactly(stdbuf.toString(), "--output=1048576", "--", tool.toString(), "db");
  }

  @Test
  void a_tool_that_cannot_be_found_runs_as_it_is_so_that_it_fails_to_start_with_the_usual_reason(@TempDir Path dir)
      throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    executable(bin.resolve("stdbuf"));
    Files.writeString(bin.resolve("mysqldump"), "not executable");
    OutputBuffer buffer = OutputBuffer.find(1 << 20, bin.toString());

    assertThat(buffer.around(List.of("mysqldump", "db"), bin.toString())).containsExactly("mysqldump", "db");
    assertThat(buffer.around(List.of("/nowhere/pg_dump"), bin.toString())).containsExactly("/nowhere/pg_dump");
  }

  @Test
  void without_stdbuf_or_with_no_buffer_asked_for_the_tools_run_as_they_are(@TempDir Path dir) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    executable(bin.resolve("pg_dump"));
    assertThat(OutputBuffer.find(1 << 20, bin.toString())).isEqualTo(OutputBuffer.TOOLS_OWN);
    assertThat(OutputBuffer.find(1 << 20, null)).isEqualTo(OutputBuffer.TOOLS_OWN);
    // one that cannot run a program (its preloaded library missing) would fail every dump
    Files.writeString(bin.resolve("stdbuf"), "#!/bin/sh\necho \"stdbuf: failed to find 'libstdbuf.so'\" >&2; exit 125\n");
    assertThat(bin.resolve("stdbuf").toFile().setExecutable(true)).isTrue();
    assertThat(OutputBuffer.find(1 << 20, bin.toString())).isEqualTo(OutputBuffer.TOOLS_OWN);
    executable(bin.resolve("stdbuf"));
    assertThat(OutputBuffer.find(0, bin.toString())).isEqualTo(OutputBuffer.TOOLS_OWN);
    assertThat(OutputBuffer.TOOLS_OWN.around(List.of("pg_dump", "db"), bin.toString())).containsExactly("pg_dump", "db");
    assertThatThrownBy(() -> new OutputBuffer(bin.resolve("stdbuf"), 100)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void through_the_real_stdbuf_a_tool_named_like_an_option_gets_every_argument_intact(@TempDir Path dir) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    // a tool whose name starts with '-' and holds '=': stdbuf reads its options up to "--", never the tool's
    Path tool = bin.resolve("-o=1");
    Files.writeString(tool, "#!/bin/sh\nprintf '%s|' \"$0\" \"$@\"\n");
    assertThat(tool.toFile().setExecutable(true)).isTrue();
    String path = bin + ":" + System.getenv("PATH");
    OutputBuffer buffer = OutputBuffer.find(64 << 10, path);
    assertThat(buffer.buffers()).as("coreutils' stdbuf on PATH").isTrue();
    List<String> arguments = List.of("--output=1", "-i0", "a b", "#c", "'q\"", "x=y", "line\nbreak");
    List<String> command = new java.util.ArrayList<>(List.of("-o=1"));
    command.addAll(arguments);

    ProcessBuilder builder = new ProcessBuilder(buffer.around(command, path));
    builder.environment().put("PATH", path);
    Process process = builder.redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);

    assertThat(process.waitFor()).isZero();
    assertThat(out).isEqualTo(tool + "|" + String.join("|", arguments) + "|");
  }

  private static Path executable(Path file) throws Exception {
    Files.writeString(file, "#!/bin/sh\n");
    assertThat(file.toFile().setExecutable(true)).isTrue();
    return file;
  }
}
