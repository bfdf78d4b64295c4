package dev.backstop.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveFormat;
import dev.backstop.kit.archive.FilesystemArchiveStore;
import dev.backstop.worker.archive.StreamingArchive;
import dev.backstop.worker.config.WorkerProperties;
import dev.backstop.worker.engine.OutputBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The dump worker's archive pipeline alone, against the stock same-work pipe, in one JVM, interleaved
 * ({@code bench/pipeline.sh}): the dump tool's output pumped into {@link StreamingArchive} as the worker does
 * (zstd level 1 on the worker's default threads, encrypted head last with an addon data key, the size and
 * SHA-256 read back), then fsynced; against {@code DUMP | zstd -1 -T2 > file && sync file}. The tool's output is
 * buffered as the worker's default {@code dump-output-buffer} has it (through {@code stdbuf}); the same pipeline
 * with the tool writing as the C library does (4 KiB at a time) is its own row. No broker, store,
 * HTTP or scheduling: what is left between this row and the end-to-end one is the service around the pipeline.
 * CPU is user + system of every process: the JVM's own (all threads) and its children's (the dump tool),
 * read from {@code /proc/self/stat} once each child is reaped; for the stock pipe, its shell's children.
 *
 * <p>Arguments: {@code WORK ROUNDS SIZE_MIB LABEL DUMP_COMMAND [SIZE_MIB LABEL DUMP_COMMAND]...}; the command is
 * run by {@code bash -c}; a first round of each is run and not counted. Prints the Markdown rows.
 */
public final class ArchivePipelineBench {

  private static final OperatingSystemMXBean OS = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final long TICKS = 100; // USER_HZ on Linux

  private record Run(double wall, double cpu, long output) {}

  private record Target(long sizeMib, String label, String command) {}

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    int rounds = Integer.parseInt(args[1]);
    List<Target> targets = new ArrayList<>();
    for (int i = 2; i + 2 < args.length + 1; i += 3) {
      targets.add(new Target(Long.parseLong(args[i]), args[i + 1], args[i + 2]));
    }
    FilesystemArchiveStore store = new FilesystemArchiveStore(work.resolve("store"));
    ArchiveCipher cipher = new ArchiveCipher(store, new byte[32]);
    int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    // the tool's output buffered as the worker buffers it (its default), and as the C library does
    OutputBuffer buffered = OutputBuffer.find(WorkerProperties.bind(Map.of()).dumpOutputBuffer().toBytes(),
        System.getenv("PATH"));
    if (!buffered.buffers()) {
      throw new IllegalStateException("no working stdbuf on PATH: the worker would run its dumps unbuffered");
    }
    Map<Target, List<Run>> stock = new LinkedHashMap<>();
    Map<Target, List<Run>> pipeline = new LinkedHashMap<>();
    Map<Target, List<Run>> unbuffered = new LinkedHashMap<>();
    for (int round = 0; round <= rounds; round++) {
      for (Target target : targets) {
        Run s = stock(target, work);
        Run p = pipeline(target, work, cipher, threads, buffered);
        Run u = pipeline(target, work, cipher, threads, OutputBuffer.TOOLS_OWN);
        System.err.printf(Locale.ROOT, "round %d %s: stock %.2f s (cpu %.2f s), pipeline %.2f s (cpu %.2f s), "
                + "unbuffered %.2f s (cpu %.2f s)%s%n", round, target.label(), s.wall(), s.cpu(), p.wall(), p.cpu(), u.wall(),
            u.cpu(), round == 0 ? ", warm-up, not counted" : "");
        if (round > 0) {
          stock.computeIfAbsent(target, t -> new ArrayList<>()).add(s);
          pipeline.computeIfAbsent(target, t -> new ArrayList<>()).add(p);
          unbuffered.computeIfAbsent(target, t -> new ArrayList<>()).add(u);
        }
      }
    }
    String date = LocalDate.now().toString();
    for (Target target : targets) {
      Run bestStock = best(stock.get(target));
      Run bestPipeline = best(pipeline.get(target));
      Run bestUnbuffered = best(unbuffered.get(target));
      System.out.printf(Locale.ROOT, "| %s | %d MiB | %s: stock same-work pipe, the same dump `| zstd -1 -T2 > file`, fsync | %s"
              + " | %.1f s | %.0f MiB/s | %d MiB |  |%n",
          date, target.sizeMib(), target.label(), walls(stock.get(target)), bestStock.cpu(),
          target.sizeMib() / bestStock.wall(), bestStock.output() >> 20);
      System.out.printf(Locale.ROOT, "| %s | %d MiB | %s: **the worker's pipeline alone**, the dump → `StreamingArchive` (zstd -1, %d threads,"
              + " encrypted head last, size and SHA-256 read back) → fsync | %s | %.1f s | %.0f MiB/s | %d MiB | **%.2f×** the stock pipe's"
              + " throughput, CPU %.2f× |%n",
          date, target.sizeMib(), target.label(), threads, walls(pipeline.get(target)), bestPipeline.cpu(),
          target.sizeMib() / bestPipeline.wall(), bestPipeline.output() >> 20, bestStock.wall() / bestPipeline.wall(),
          bestPipeline.cpu() / bestStock.cpu());
      System.out.printf(Locale.ROOT, "| %s | %d MiB | %s: the same pipeline, the tool's output as the C library buffers a pipe"
              + " (4 KiB writes; the worker before `dump-output-buffer`) | %s | %.1f s | %.0f MiB/s | %d MiB | %.2f× the stock pipe's"
              + " throughput, CPU %.2f×; the buffered pipeline's CPU %.2f× this |%n",
          date, target.sizeMib(), target.label(), walls(unbuffered.get(target)), bestUnbuffered.cpu(),
          target.sizeMib() / bestUnbuffered.wall(), bestUnbuffered.output() >> 20, bestStock.wall() / bestUnbuffered.wall(),
          bestUnbuffered.cpu() / bestStock.cpu(), bestPipeline.cpu() / bestUnbuffered.cpu());
    }
  }

  private static Run stock(Target target, Path work) throws Exception {
    Path out = work.resolve("stock.zst");
    quiet();
    long children = childrenCpuNanos();
    long start = System.nanoTime();
    Process shell = new ProcessBuilder("bash", "-c", "set -o pipefail; " + target.command() + " | zstd -1 -T2 -q -f -o "
        + out + " && sync " + out).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    if (shell.waitFor() != 0) {
      throw new IllegalStateException("the stock pipe failed: " + target.command());
    }
    double wall = (System.nanoTime() - start) / 1e9;
    Run run = new Run(wall, (childrenCpuNanos() - children) / 1e9, Files.size(out));
    Files.delete(out);
    return run;
  }

  private static Run pipeline(Target target, Path work, ArchiveCipher cipher, int threads, OutputBuffer buffer)
      throws Exception {
    Path file = work.resolve("archive");
    String key = "bench/backup/20261202000000_db.tar.zst" + ArchiveCipher.SUFFIX;
    quiet();
    long children = childrenCpuNanos();
    long own = OS.getProcessCpuTime();
    long start = System.nanoTime();
    // stdbuf's settings reach the tool through bash's exec (they are environment variables)
    Process dump = new ProcessBuilder(buffer.around(List.of("bash", "-c", "exec " + target.command())))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    StreamingArchive.Packed packed;
    try (StreamingArchive archive = StreamingArchive.start(ArchiveFormat.ZSTD, 1, threads, "db.dump", Instant.EPOCH, file,
        (path, head) -> cipher.headLast("bench", key, path, head))) {
      pump(dump.getInputStream(), archive.dump());
      if (dump.waitFor() != 0) {
        throw new IllegalStateException("the dump failed: " + target.command());
      }
      packed = archive.finish();
    } finally {
      // a pump or archive that failed must not leave the dump tool running against the database
      dump.destroyForcibly();
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    double wall = (System.nanoTime() - start) / 1e9;
    double cpu = (OS.getProcessCpuTime() - own + childrenCpuNanos() - children) / 1e9;
    Files.delete(file);
    return new Run(wall, cpu, packed.size());
  }

  /** As the worker's {@code ExternalCommand} reads a tool's output: 1 MiB at a time. */
  private static void pump(InputStream in, OutputStream out) throws IOException {
    byte[] buffer = new byte[1 << 20];
    for (int n; (n = in.read(buffer)) > 0; ) {
      out.write(buffer, 0, n);
    }
  }

  /** User + system time of this process's reaped children (fields 16 and 17 of /proc/self/stat). */
  private static long childrenCpuNanos() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields[0] is the state, field 3 of the file: cutime is field 16, cstime 17
    long ticks = Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
    return ticks * 1_000_000_000L / TICKS;
  }

  /** What the previous run left in the page cache is written out first, so its writeback does not slow the next. */
  private static void quiet() throws Exception {
    new ProcessBuilder("sync").start().waitFor();
    Thread.sleep(1000);
  }

  private static Run best(List<Run> runs) {
    return runs.stream().min((a, b) -> Double.compare(a.wall(), b.wall())).orElseThrow();
  }

  private static String walls(List<Run> runs) {
    return String.join(" / ", runs.stream().map(r -> String.format(Locale.ROOT, "%.1f s", r.wall())).toList());
  }
}
