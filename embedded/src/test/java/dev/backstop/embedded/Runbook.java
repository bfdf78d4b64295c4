package dev.backstop.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The procedures of docs/operations.md as an operator runs them: each block marked
 * {@code <!-- runbook: name -->} is run with bash exactly as written, where {@code kafka-consumer-groups.sh}
 * is Kafka's own tool ({@code ConsumerGroupCommand}, what the script of Kafka's distribution runs) in a
 * JVM of its own, as the script starts it.
 */
final class Runbook {

  private static final Pattern BLOCK = Pattern.compile("<!-- runbook: ([a-z-]+) -->\\s*```(?:bash|sh)\\n(.*?)```", Pattern.DOTALL);

  /** What a block printed. */
  record Output(int exit, String out, String err) {}

  private final Map<String, String> blocks;
  private final Path tools;

  private Runbook(Map<String, String> blocks, Path tools) {
    this.blocks = blocks;
    this.tools = tools;
  }

  /** Reads the runbook and puts Kafka's tool, as the script would run it, on a PATH of its own under {@code scratch}. */
  static Runbook load(Path runbook, Path scratch) {
    try {
      Map<String, String> blocks = new LinkedHashMap<>();
      Matcher matcher = BLOCK.matcher(Files.readString(runbook, StandardCharsets.UTF_8));
      while (matcher.find()) {
        if (blocks.put(matcher.group(1), matcher.group(2)) != null) {
          throw new IllegalStateException("two runbook blocks are named " + matcher.group(1));
        }
      }
      Path tools = Files.createDirectories(scratch.resolve("kafka-bin"));
      String java = ProcessHandle.current().info().command().orElse("java");
      // kafka-run-class.sh: java, the distribution's jars as the class path, the tool's main class
      Files.writeString(tools.resolve("kafka-consumer-groups.sh"), "#!/usr/bin/env bash\n"
          + "exec '" + java + "' -Xshare:auto -XX:TieredStopAtLevel=1 -cp \"$RUNBOOK_KAFKA_CLASSPATH\" "
          + "-Dlogback.configurationFile=" + quietLogging(scratch)
          + " org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \"$@\"\n");
      Files.setPosixFilePermissions(tools.resolve("kafka-consumer-groups.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
      return new Runbook(blocks, tools);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String quietLogging(Path scratch) throws IOException {
    Path file = scratch.resolve("kafka-tools-logback.xml");
    Files.writeString(file, "<configuration><root level=\"OFF\"/></configuration>\n");
    return file.toString();
  }

  /** The block's text, as written. */
  String block(String name) {
    String block = blocks.get(name);
    if (block == null) {
      throw new IllegalArgumentException("docs/operations.md has no block <!-- runbook: " + name + " -->");
    }
    return block;
  }

  /** Runs block {@code name} with bash, {@code environment} set as an operator would set it; fails unless it exits 0. */
  Output run(String name, Map<String, String> environment) {
    Output output = runAllowingFailure(name, environment);
    if (output.exit() != 0) {
      throw new AssertionError("runbook block " + name + " exited " + output.exit() + "\n" + output.out() + output.err());
    }
    return output;
  }

  Output runAllowingFailure(String name, Map<String, String> environment) {
    try {
      ProcessBuilder builder = new ProcessBuilder("bash", "-euo", "pipefail", "-c", block(name));
      builder.environment().putAll(environment);
      builder.environment().put("PATH", tools + ":" + System.getenv("PATH"));
      builder.environment().put("RUNBOOK_KAFKA_CLASSPATH", System.getProperty("java.class.path"));
      Path errors = Files.createTempFile(tools, "stderr", ".txt");
      builder.redirectError(errors.toFile());
      Process process = builder.start();
      process.getOutputStream().close();
      var out = process.getInputStream().readAllBytes();
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new AssertionError("runbook block " + name + " did not end");
      }
      String printed = new String(out, StandardCharsets.UTF_8);
      String err = Files.readString(errors, StandardCharsets.UTF_8);
      Files.delete(errors);
      System.out.println("runbook " + name + ":\n" + printed + err);
      return new Output(process.exitValue(), printed, err);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The {@code NAME=value} lines of an environment block. */
  Map<String, String> environment(String name) {
    Map<String, String> variables = new LinkedHashMap<>();
    for (String line : block(name).split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      int equals = trimmed.indexOf('=');
      if (equals <= 0) {
        throw new IllegalStateException("runbook block " + name + " holds a line that is no NAME=value: " + line);
      }
      variables.put(trimmed.substring(0, equals), trimmed.substring(equals + 1));
    }
    return variables;
  }
}
