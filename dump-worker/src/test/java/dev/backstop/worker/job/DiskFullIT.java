package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A fault of docs/reliability.md: the worker's disk full. Its work directory is a small tmpfs of its own
 * (mounting one needs root, as the suite runs here; elsewhere the test is skipped, saying why), filled up
 * before a backup is asked for: once its bytes, once its inodes (then not even the backup's scratch folder
 * can be made). Each backup ends failed with "No space left on device" in its reason, not stuck running
 * (nor given back to the queue again and again), and leaves nothing behind; once space is back, the next
 * backup completes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiskFullIT {

  private FaultRig rig;
  private Path work;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("disk-full");
    work = Files.createDirectories(rig.dir.resolve("work"));
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=64", "tmpfs", work.toString())
        .redirectErrorStream(true).start();
    String said = new String(mount.getInputStream().readAllBytes()).trim();
    boolean mounted = mount.waitFor() == 0;
    assumeTrue(mounted, "a small file system for the work directory cannot be mounted here: " + said);
    rig.atClose(() -> new ProcessBuilder("umount", work.toString()).inheritIO().start().waitFor());
    rig.startKafka().startMongo().localDatabase("backstop_disk_full").startWorker();
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void a_full_work_disk_fails_the_backup_with_no_space_left_and_the_next_backup_completes_once_space_is_back() throws Exception {
    rig.register("full");
    long began = System.nanoTime();
    Path filler = work.resolve("filler");
    fill(filler);
    rig.request("full", "full-blocks");
    FaultRig.Figures blocksFull = rig.outcome("full-blocks", Duration.ofSeconds(60));
    List<String> leftByBlocks = leftIn(work, List.of(filler));
    Files.delete(filler);

    // no inode left: the worker cannot even make the backup's scratch folder
    List<Path> inodes = fillInodes(work);
    rig.request("full", "full-inodes");
    FaultRig.Figures inodesFull = rig.outcome("full-inodes", Duration.ofSeconds(60));
    List<String> leftByInodes = leftIn(work, inodes);
    for (Path inode : inodes) {
      Files.delete(inode);
    }

    rig.request("full", "full-after");
    FaultRig.Figures after = rig.outcome("full-after", Duration.ofSeconds(60));
    List<String> stored = rig.archives("full", "full-after");

    List<FaultRig.Figures> all = List.of(blocksFull, inodesFull, after);
    System.out.printf("work disk full: requested 3, started %d, completed %d (%d while full, %d after), failed %d %s %s, "
        + "lost %d, duplicated %d, left in the work directory %s %s, archives %d after, %d s%n",
        all.stream().mapToLong(FaultRig.Figures::started).sum(), all.stream().mapToLong(FaultRig.Figures::completed).sum(),
        blocksFull.completed() + inodesFull.completed(), after.completed(), all.stream().mapToLong(FaultRig.Figures::failed).sum(),
        blocksFull.reasons(), inodesFull.reasons(), all.stream().mapToLong(FaultRig.Figures::lost).sum(),
        all.stream().mapToLong(FaultRig.Figures::duplicated).sum(), leftByBlocks, leftByInodes, stored.size(),
        Duration.ofNanos(System.nanoTime() - began).toSeconds());
    for (FaultRig.Figures full : List.of(blocksFull, inodesFull)) {
      assertThat(full.completed()).as("completed on a full disk").isZero();
      assertThat(full.failed()).as("failed on a full disk").isEqualTo(1);
      assertThat(full.reasons()).singleElement().asString().containsIgnoringCase("no space left on device");
    }
    assertThat(rig.archives("full", "full-blocks")).as("archives of a failed backup").isEmpty();
    assertThat(rig.archives("full", "full-inodes")).as("archives of a failed backup").isEmpty();
    assertThat(leftByBlocks).as("the failed backup's scratch files").isEmpty();
    assertThat(leftByInodes).as("the failed backup's scratch files").isEmpty();
    assertThat(after.completed()).as("completed once space is back").isEqualTo(1);
    assertThat(after.failed()).isZero();
    assertThat(stored).as("archives of the next backup").hasSize(1);
    assertThat(all).allSatisfy(f -> {
      assertThat(f.lost()).as("lost").isZero();
      assertThat(f.duplicated()).as("duplicated").isZero();
    });
  }

  /** Creates empty files until the file system has no inode left. */
  private static List<Path> fillInodes(Path work) throws IOException {
    List<Path> created = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 10_000; i++) {
        created.add(Files.createFile(work.resolve("inode-" + i)));
      }
    } catch (IOException full) {
      assertThat(full.getMessage()).as("the inode filler's own failure").containsIgnoringCase("no space left on device");
      return created;
    }
    throw new IllegalStateException("the work directory's file system never ran out of inodes");
  }

  /** Writes until the file system refuses with ENOSPC. */
  private static void fill(Path filler) throws IOException {
    byte[] block = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(block);
      }
    } catch (IOException full) {
      assertThat(full.getMessage()).as("the filler's own failure").containsIgnoringCase("no space left on device");
    }
  }

  private static List<String> leftIn(Path work, List<Path> fillers) throws IOException {
    try (Stream<Path> files = Files.list(work)) {
      return files.filter(p -> !fillers.contains(p)).map(p -> p.getFileName().toString()).toList();
    }
  }
}
