package dev.backstop.worker.engine;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How a dump tool writes its output to the worker. The C library buffers a pipe a page (4 KiB) at a time, so
 * {@code pg_dump} and {@code mysqldump} write, and wake the worker's reader, about 100,000 times per 500 MiB;
 * started through coreutils' {@code stdbuf -o SIZE}, they fill a buffer of that size first: with a pipe's worth
 * (64 KiB), 8,000 times, which took a tenth off the CPU of a dump's pipeline, the tool's included
 * (docs/benchmarks.md). The tool's own command line follows stdbuf's constant options unchanged.
 *
 * <p>Only standard output is buffered: error output, which a failure's reason is read from, stays as the tool
 * writes it. What the buffer holds when the tool exits is written then, as by any stdio program.
 *
 * @param stdbuf the {@code stdbuf} executable, or null to run the tools as they are
 * @param bytes the tool's output buffer, at least one page when {@code stdbuf} is set
 */
public record OutputBuffer(Path stdbuf, long bytes) {

  /** The tools as they are, buffering their output as the C library does. */
  public static final OutputBuffer TOOLS_OWN = new OutputBuffer(null, 0);

  public OutputBuffer {
    if (stdbuf != null && bytes < 4096) {
      throw new IllegalArgumentException("an output buffer of " + bytes + " bytes is less than a page");
    }
  }

  /**
   * A buffer of {@code bytes} through the {@code stdbuf} found on {@code path} (the PATH variable's form);
   * {@link #TOOLS_OWN} when {@code bytes} is 0, or no {@code stdbuf} is there that runs a program (one without
   * its preloaded library would fail every dump).
   */
  public static OutputBuffer find(long bytes, String path) {
    if (bytes == 0) {
      return TOOLS_OWN;
    }
    Path stdbuf = onPath("stdbuf", path);
    if (stdbuf == null) {
      return TOOLS_OWN;
    }
    OutputBuffer buffer = new OutputBuffer(stdbuf, bytes);
    return buffer.runs() ? buffer : TOOLS_OWN;
  }

  /** Whether stdbuf runs a program through this buffer: itself, asked its version. */
  private boolean runs() {
    Process probe;
    try {
      probe = new ProcessBuilder(around(List.of(stdbuf.toString(), "--version"), null))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      return false;
    }
    try {
      return probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      // hung, or the wait interrupted (a shutdown during start-up): not left behind
      probe.destroyForcibly();
    }
  }

  /** Whether the tools run through {@code stdbuf}. */
  public boolean buffers() {
    return stdbuf != null;
  }

  /**
   * {@code command} run through {@code stdbuf}; as it is when the tools run as they are, or when its executable
   * cannot be found on this process's PATH, which the tools inherit (stdbuf would start and fail; left alone,
   * the tool fails to start with the usual reason).
   */
  public List<String> around(List<String> command) {
    return around(command, System.getenv("PATH"));
  }

  List<String> around(List<String> command, String path) {
    if (stdbuf == null || command.isEmpty() || executable(command.get(0), path) == null) {
      return command;
    }
    List<String> wrapped = new ArrayList<>(List.of(stdbuf.toString(), "--output=" + bytes, "--"));
    wrapped.addAll(command);
    return wrapped;
  }

  /** {@code tool} as an executable file: itself when it is a path (holds a {@code /}), else the first on {@code path}. */
  static Path executable(String tool, String path) {
    try {
      if (tool.contains("/")) {
        Path file = Path.of(tool);
        return Files.isRegularFile(file) && Files.isExecutable(file) ? file : null;
      }
      return onPath(tool, path);
    } catch (InvalidPathException e) {
      return null;
    }
  }

  private static Path onPath(String name, String path) {
    if (path == null) {
      return null;
    }
    for (String folder : path.split(File.pathSeparator)) {
      if (folder.isEmpty()) {
        continue;
      }
      try {
        Path file = Path.of(folder, name);
        if (Files.isRegularFile(file) && Files.isExecutable(file)) {
          return file;
        }
      } catch (InvalidPathException e) {
        // a folder of PATH that is no path: the next one
      }
    }
    return null;
  }
}
