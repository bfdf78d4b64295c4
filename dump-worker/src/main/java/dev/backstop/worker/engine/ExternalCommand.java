package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a dump tool to completion with a deadline, streaming its standard output to a sink and
 * keeping its error output for the failure reason.
 */
public final class ExternalCommand {

  private static final int MAX_REASON = 600;
  /** What the reason of a tool stopped for its silence says: the classifiers take it as a transient failure. */
  public static final String STOPPED_ANSWERING = "stopped answering";
  private static final long NOT_WAITING = Long.MIN_VALUE;
  private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "dump-deadlines");
    thread.setDaemon(true);
    return thread;
  });

  private ExternalCommand() {}

  /**
   * Runs the tool with credentials in {@code secretFile}: written readable by this user only, and
   * removed when the tool is done, whatever happened. Never argv, never the log.
   */
  public static void runWithSecretFile(String tool, Path secretFile, String secret, Scrubber scrubber, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout, OutputStream stdout)
      throws DumpFailedException, IOException {
    runWithSecretFile(tool, secretFile, secret, scrubber, command, environment, scratch, timeout, null, null, stdout, null);
  }

  /**
   * As above, also stopping the tool once its standard output has been silent for {@code silence}: a dump
   * whose database host vanished without closing its connection (no reset, no answer) would otherwise
   * wait for TCP keepalives (2 h on Linux) or {@code timeout}. The failure's reason says the tool
   * {@link #STOPPED_ANSWERING}, which the engines' classifiers take as transient.
   */
  public static void runWithSecretFile(String tool, Path secretFile, String secret, Scrubber scrubber, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout, Duration silence, OutputStream stdout)
      throws DumpFailedException, IOException {
    runWithSecretFile(tool, secretFile, secret, scrubber, command, environment, scratch, timeout, silence, null, stdout, null);
  }

  /** As above, feeding {@code stdin} (when not null) to the tool's standard input: how a restore reads a dump. */
  public static void runWithSecretFile(String tool, Path secretFile, String secret, Scrubber scrubber, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout, InputStream stdin, OutputStream stdout)
      throws DumpFailedException, IOException {
    runWithSecretFile(tool, secretFile, secret, scrubber, command, environment, scratch, timeout, null, stdin, stdout, null);
  }

  /**
   * As above, calling {@code exited} as soon as the tool has exited or was killed, before its input's feeder is
   * waited for: a source that feeds several tools learns at once that this one reads no more, rather than
   * keeping the feeder waiting on it (and this call with it).
   */
  public static void runWithSecretFile(String tool, Path secretFile, String secret, Scrubber scrubber, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout, InputStream stdin, OutputStream stdout, Runnable exited)
      throws DumpFailedException, IOException {
    runWithSecretFile(tool, secretFile, secret, scrubber, command, environment, scratch, timeout, null, stdin, stdout, exited);
  }

  private static void runWithSecretFile(String tool, Path secretFile, String secret, Scrubber scrubber, List<String> command,
      Map<String, String> environment, Path scratch, Duration timeout, Duration silence, InputStream stdin, OutputStream stdout,
      Runnable exited) throws DumpFailedException, IOException {
    try {
      try {
        Files.deleteIfExists(secretFile);
        Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(secretFile, secret, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new DumpFailedException(scrubber(scrubber, scratch).scrub("could not prepare " + tool + ": " + e.getMessage()));
      }
      run(tool, scrubber, command, environment, scratch, timeout, silence, stdin, stdout, exited);
    } finally {
      try {
        Files.deleteIfExists(secretFile);
      } catch (IOException ignored) {
        // the job's scratch folder is deleted as a whole afterwards
      }
    }
  }

  /**
   * Runs a short query tool (a probe) with credentials in a secret file, in a scratch folder of its own
   * under {@code workDirectory} removed afterwards, and returns what it printed.
   *
   * @param command the command line, given the secret file's path
   * @param environment the environment, given the secret file's path
   */
  public static String output(String tool, Path workDirectory, String secretFileName, String secret, Scrubber scrubber,
      java.util.function.Function<Path, List<String>> command, java.util.function.Function<Path, Map<String, String>> environment,
      Duration timeout) throws DumpFailedException, IOException {
    Files.createDirectories(workDirectory);
    Path scratch = Files.createTempDirectory(workDirectory, tool + "-");
    try {
      Path secretFile = scratch.resolve(secretFileName);
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      runWithSecretFile(tool, secretFile, secret, scrubber, command.apply(secretFile), environment.apply(secretFile), scratch,
          timeout, out);
      return out.toString(StandardCharsets.UTF_8);
    } finally {
      deleteQuietly(scratch);
    }
  }

  /**
   * Runs the tool, copying its standard output into {@code stdout} as it comes.
   *
   * @throws DumpFailedException the tool could not start, failed, or overran {@code timeout}
   * @throws IOException {@code stdout} refused a write (a full disk, an aborted job); the tool is killed
   */
  public static void run(String tool, Scrubber scrubber, List<String> command, Map<String, String> environment, Path scratch,
      Duration timeout, OutputStream stdout) throws DumpFailedException, IOException {
    run(tool, scrubber, command, environment, scratch, timeout, null, stdout);
  }

  /**
   * As above, with {@code stdin} (when not null) copied to the tool's standard input on a thread of its
   * own, so that neither side waits on the other's pipe.
   *
   * @throws IOException also when reading {@code stdin} failed: the tool is killed, whatever it said
   */
  public static void run(String tool, Scrubber scrubber, List<String> command, Map<String, String> environment, Path scratch,
      Duration timeout, InputStream stdin, OutputStream stdout) throws DumpFailedException, IOException {
    run(tool, scrubber, command, environment, scratch, timeout, null, stdin, stdout, null);
  }

  private static void run(String tool, Scrubber scrubber, List<String> command, Map<String, String> environment, Path scratch,
      Duration timeout, Duration silence, InputStream stdin, OutputStream stdout, Runnable exited)
      throws DumpFailedException, IOException {
    Scrubber scrub = scrubber(scrubber, scratch);
    Path errors = scratch.resolve(tool + ".stderr");
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("PG") || name.startsWith("MYSQL"));
    builder.environment().putAll(environment);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new DumpFailedException(scrub.scrub(tool + " could not be started: " + e.getMessage()));
    }
    var feedFailure = new java.util.concurrent.atomic.AtomicReference<IOException>();
    // a platform thread: it spends its life blocked in pipe writes, which a virtual thread cannot unmount from
    // (file I/O pins its carrier, and the scheduler adds a carrier to make up for it)
    Thread feeder = stdin == null ? null
        : Thread.ofPlatform().daemon().name(tool + "-stdin").start(() -> feed(stdin, process, feedFailure));
    AtomicBoolean overran = new AtomicBoolean();
    ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
      overran.set(true);
      kill(process);
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    // only the time spent waiting on the tool counts as its silence, not a slow write of what it gave
    AtomicLong waitingSince = new AtomicLong(System.nanoTime());
    AtomicBoolean silent = new AtomicBoolean();
    ScheduledFuture<?> watch = silence == null ? null : watchSilence(process, silence, waitingSince, silent);
    try (InputStream output = process.getInputStream()) {
      byte[] buffer = new byte[1 << 20];
      for (int n; (n = output.read(buffer)) > 0; waitingSince.set(System.nanoTime())) {
        waitingSince.set(NOT_WAITING);
        try {
          stdout.write(buffer, 0, n);
        } catch (IOException e) {
          kill(process);
          throw e;
        }
      }
      process.waitFor();
      if (exited != null) {
        exited.run();
      }
      if (feeder != null && !feeder.join(Duration.ofSeconds(30))) {
        // the tool is gone but its input hangs (a stalled store): closing the source unblocks the feeder
        stdin.close();
        feeder.join(Duration.ofSeconds(5));
      }
    } catch (InterruptedException e) {
      kill(process);
      Thread.currentThread().interrupt();
      throw new DumpFailedException(tool + " was interrupted (worker shutting down)");
    } catch (IOException e) {
      // a killed tool's output is closed under the reader ("Stream closed"): the reason it was killed is the error
      if (feeder != null) {
        joinQuietly(feeder);
      }
      if (feedFailure.get() != null) {
        throw feedFailure.get();
      }
      if (overran.get()) {
        throw new DumpFailedException(tool + " did not finish within " + timeout + " and was stopped");
      }
      if (silent.get()) {
        throw stoppedAnswering(tool, silence);
      }
      throw e;
    } finally {
      deadline.cancel(false);
      if (watch != null) {
        watch.cancel(false);
      }
      if (exited != null) {
        // killed or not waited for: the tool is gone all the same (a second call must be harmless)
        exited.run();
      }
    }
    if (feedFailure.get() != null) {
      throw feedFailure.get();
    }
    if (overran.get()) {
      throw new DumpFailedException(tool + " did not finish within " + timeout + " and was stopped");
    }
    if (silent.get()) {
      throw stoppedAnswering(tool, silence);
    }
    if (process.exitValue() != 0) {
      throw new DumpFailedException(reason(tool, process.exitValue(), errors, scrub));
    }
  }

  /**
   * Copies {@code source} into the tool until either ends. A tool that stops reading (it failed, or it
   * has all it needs) is not an error here: its exit status tells. A source that cannot be read is,
   * and the tool is killed rather than left to act on part of its input.
   */
  private static void feed(InputStream source, Process process, java.util.concurrent.atomic.AtomicReference<IOException> failure) {
    try (OutputStream toTool = process.getOutputStream()) {
      byte[] buffer = new byte[1 << 20];
      while (true) {
        int n;
        try {
          n = source.read(buffer);
        } catch (IOException e) {
          failure.set(e);
          kill(process);
          return;
        }
        if (n < 0) {
          return;
        }
        try {
          toTool.write(buffer, 0, n);
          // the pipe is buffered: a source that pauses (a dump read back, a statement waiting on another client's)
          // must not leave what it gave in the buffer meanwhile
          toTool.flush();
        } catch (IOException closedByTool) {
          return;
        }
      }
    } catch (IOException closedByTool) {
      // closing the pipe of a tool that already exited
    }
  }

  private static void joinQuietly(Thread thread) {
    try {
      thread.join(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort: the work directory is scratch space
    }
  }

  /**
   * Kills the tool once nothing has come out of it for {@code silence}, looking a few times per period
   * (at most every 10 s): the kill comes at most a quarter of the period late.
   */
  private static ScheduledFuture<?> watchSilence(Process process, Duration silence, AtomicLong waitingSince, AtomicBoolean silent) {
    long every = Math.clamp(silence.toMillis() / 4, 10, 10_000);
    return DEADLINES.scheduleWithFixedDelay(() -> {
      long since = waitingSince.get();
      if (!silent.get() && since != NOT_WAITING && System.nanoTime() - since >= silence.toNanos()) {
        silent.set(true);
        kill(process);
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }

  private static DumpFailedException stoppedAnswering(String tool, Duration silence) {
    return new DumpFailedException(tool + " " + STOPPED_ANSWERING + ": nothing came out of it for " + silence.toSeconds()
        + " s, it was stopped (the database host gone without closing the connection?)");
  }

  private static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  /**
   * The caller's scrubber, also hiding the scratch folder and the work directory it is in: whatever a
   * tool says about either names the worker's own layout, never the customer's problem.
   */
  private static Scrubber scrubber(Scrubber given, Path scratch) {
    Scrubber scrubber = given == null ? Scrubber.hiding() : given;
    Path absolute = scratch.toAbsolutePath().normalize();
    // the work directory holds every job's scratch folder; "/" or "/tmp" alone would hide too much
    Path parent = absolute.getParent();
    return scrubber.withFolder(absolute).withFolder(parent != null && parent.getNameCount() >= 2 ? parent : null);
  }

  private static String reason(String tool, int exit, Path errors, Scrubber scrub) {
    String text;
    try {
      text = Files.readString(errors, StandardCharsets.UTF_8);
    } catch (IOException e) {
      text = "";
    }
    // scrubbed before line breaks are folded: a secret's pieces are matched line by line
    text = scrub.scrub(text);
    text = text.replace(tool + ": error: ", "").replace(tool + ": ", "").replaceAll("\\s+", " ").trim();
    text = scrub.scrub(text);
    if (text.length() > MAX_REASON) {
      text = text.substring(0, MAX_REASON) + "…";
    }
    return tool + " failed (exit " + exit + ")" + (text.isEmpty() ? "" : ": " + text);
  }
}
