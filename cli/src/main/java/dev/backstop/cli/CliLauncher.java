package dev.backstop.cli;

import java.io.PrintWriter;
import java.time.ZoneId;
import java.util.Map;

/** Runs the CLI in this JVM with a given environment, zone and output: for tests that drive it. */
public final class CliLauncher {

  private CliLauncher() {}

  /** Runs one command; returns its exit code (0 done, 1 failed, 2 bad usage). */
  public static int run(String[] args, Map<String, String> env, ZoneId zone, PrintWriter out, PrintWriter err) {
    return BackstopCli.run(args, env, zone, out, err);
  }
}
