package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.MongoHandle;
import dev.backstop.schemas.secret.SecretSealer;
import dev.backstop.testing.LocalPostgres;
import dev.backstop.testing.TestMongo;
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
import org.springframework.context.ConfigurableApplicationContext;

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

  private final String secretsKey = SecretSealer.newBase64Key();
  private final SecretSealer sealer = SecretSealer.fromBase64(secretsKey);
  private Path dir;
  private Path work;
  private boolean mounted;
  private InProcessKafka kafka;
  private MongoHandle mongo;
  private String database;
  private ConfigurableApplicationContext worker;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("backstop-disk-full");
    work = Files.createDirectories(dir.resolve("work"));
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=64", "tmpfs", work.toString())
        .redirectErrorStream(true).start();
    String said = new String(mount.getInputStream().readAllBytes()).trim();
    mounted = mount.waitFor() == 0;
    assumeTrue(mounted, "a small file system for the work directory cannot be mounted here: " + said);
    kafka = InProcessKafka.start(dir.resolve("kafka"), 0, 0);
    mongo = TestMongo.start();
    database = LocalPostgres.createDatabase("backstop_disk_full");
    LocalPostgres.psql(database, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
    worker = FaultRig.worker(kafka, mongo.uri(), secretsKey, "disk-full", dir);
  }

  @AfterAll
  void stop() throws Exception {
    if (worker != null) {
      worker.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (mongo != null) {
      mongo.close();
    }
    if (database != null) {
      LocalPostgres.dropDatabase(database);
    }
    if (mounted) {
      new ProcessBuilder("umount", work.toString()).inheritIO().start().waitFor();
    }
    FaultRig.deleteTree(dir);
  }

  @Test
  void a_full_work_disk_fails_the_backup_with_no_space_left_and_the_next_backup_completes_once_space_is_back() throws Exception {
    FaultRig.register(kafka, sealer, "full", database, LocalPostgres.USER, LocalPostgres.HOST, LocalPostgres.PORT);
    long began = System.nanoTime();
    Path filler = work.resolve("filler");
    fill(filler);
    FaultRig.request(kafka, "full", "full-blocks");
    FaultRig.Figures blocksFull = FaultRig.outcome(kafka, "full-blocks", Duration.ofSeconds(60));
    List<String> leftByBlocks = leftIn(work, List.of(filler));
    Files.delete(filler);

    // no inode left: the worker cannot even make the backup's scratch folder
    List<Path> inodes = fillInodes(work);
    FaultRig.request(kafka, "full", "full-inodes");
    FaultRig.Figures inodesFull = FaultRig.outcome(kafka, "full-inodes", Duration.ofSeconds(60));
    List<String> leftByInodes = leftIn(work, inodes);
    for (Path inode : inodes) {
      Files.delete(inode);
    }

    FaultRig.request(kafka, "full", "full-after");
    FaultRig.Figures after = FaultRig.outcome(kafka, "full-after", Duration.ofSeconds(60));
    List<String> stored = FaultRig.archives(dir.resolve("archives"), "full", "full-after");

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
    assertThat(FaultRig.archives(dir.resolve("archives"), "full", "full-blocks")).as("archives of a failed backup").isEmpty();
    assertThat(FaultRig.archives(dir.resolve("archives"), "full", "full-inodes")).as("archives of a failed backup").isEmpty();
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
