package dev.backstop.worker.dump;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a dump tool to completion with a deadline, keeping its error output for the failure reason. */
final class ExternalCommand {

  private static final int MAX_REASON = 600;

  private ExternalCommand() {}

  /**
   * Runs the tool with credentials in {@code secretFile}: written readable by this user only, and
   * removed when the tool is done, whatever happened. Never argv, never the log.
   */
  static void runWithSecretFile(String tool, Path secretFile, String secret, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout) throws DumpFailedException {
    try {
      Files.deleteIfExists(secretFile);
      Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(secretFile, secret, StandardCharsets.UTF_8);
      run(tool, command, environment, scratch, timeout);
    } catch (IOException e) {
      throw new DumpFailedException("could not prepare the dump: " + e.getMessage());
    } finally {
      try {
        Files.deleteIfExists(secretFile);
      } catch (IOException ignored) {
        // the job's scratch folder is deleted as a whole afterwards
      }
    }
  }

  static void run(String tool, List<String> command, Map<String, String> environment, Path scratch, Duration timeout)
      throws DumpFailedException {
    Path errors = scratch.resolve(tool + ".stderr");
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(name -> name.startsWith("PG") || name.startsWith("MYSQL"));
    builder.environment().putAll(environment);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new DumpFailedException(tool + " could not be started: " + e.getMessage());
    }
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new DumpFailedException(tool + " did not finish within " + timeout + " and was stopped");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new DumpFailedException(tool + " was interrupted (worker shutting down)");
    }
    if (process.exitValue() != 0) {
      throw new DumpFailedException(reason(tool, process.exitValue(), errors));
    }
  }

  private static String reason(String tool, int exit, Path errors) {
    String text;
    try {
      text = Files.readString(errors, StandardCharsets.UTF_8);
    } catch (IOException e) {
      text = "";
    }
    text = text.replace(tool + ": error: ", "").replace(tool + ": ", "").replaceAll("\\s+", " ").trim();
    if (text.length() > MAX_REASON) {
      text = text.substring(0, MAX_REASON) + "…";
    }
    return tool + " failed (exit " + exit + ")" + (text.isEmpty() ? "" : ": " + text);
  }
}
