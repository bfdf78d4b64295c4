package dev.backstop.worker.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A fault of docs/reliability.md: the archive store (S3, an s3proxy in this JVM) stopped while a backup is
 * under way — its dump held by a lock on its table until the store is gone, so that the upload meets the
 * outage — and started again (same port, same buckets). A backup before it completes; the one it meets ends
 * failed with the reason, never stuck running and never completed without its archive; the next backup
 * completes with its archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiveStoreOutageIT {

  private static final String ACCESS_KEY = "backstop-test";
  private static final String SECRET_KEY = "backstop-test-secret";
  private static final String BUCKET = "backstop-outage";

  private FaultRig rig;
  private S3Proxy s3;
  private int s3Port;

  @BeforeAll
  void start() throws Exception {
    rig = new FaultRig("s3-outage").startKafka().startMongo();
    Files.createDirectories(rig.dir.resolve("s3"));
    s3Port = FaultRig.freePort();
    s3 = startS3();
    rig.atClose(() -> s3.stop());
    rig.localDatabase("backstop_s3_outage");
    rig.startWorker(
        "--backstop.archive.type=s3",
        "--backstop.archive.s3.endpoint=http://127.0.0.1:" + s3Port,
        "--backstop.archive.s3.bucket=" + BUCKET,
        "--backstop.archive.s3.path-style=true",
        "--backstop.archive.s3.access-key=" + ACCESS_KEY,
        "--backstop.archive.s3.secret-key=" + SECRET_KEY);
  }

  private S3Proxy startS3() throws Exception {
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(new FilesystemNio2BlobStore(rig.dir.resolve("s3").toString()))
        .endpoint(URI.create("http://127.0.0.1:" + s3Port))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
        .build();
    proxy.start();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> "STARTED".equals(proxy.getState()));
    return proxy;
  }

  @AfterAll
  void stop() throws Exception {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void an_archive_store_down_at_upload_fails_the_backup_with_its_reason_and_the_next_backup_completes() throws Exception {
    rig.register("s3o");
    long began = System.nanoTime();
    // the addon's data key is stored with its first archive and kept in memory: the outage below meets the upload of
    // the archive itself, not of the key
    rig.request("s3o", "s3o-0");
    FaultRig.Figures before = rig.outcome("s3o-0", Duration.ofSeconds(60));
    assertThat(before.completed()).as("completed before the outage").isEqualTo(1);
    try (var lock = rig.holdDump("s3o", "s3o-1")) {
      s3.stop();
      lock.release();
    }
    FaultRig.Figures during = rig.outcome("s3o-1", Duration.ofSeconds(60));
    List<String> storedDuring = archives("s3o-1");

    s3 = startS3();
    rig.request("s3o", "s3o-2");
    FaultRig.Figures after = rig.outcome("s3o-2", Duration.ofSeconds(60));
    List<String> storedAfter = archives("s3o-2");

    List<FaultRig.Figures> all = List.of(before, during, after);
    System.out.printf("archive store down at upload: requested 3, started %d, completed %d (1 before, %d during, %d after), "
        + "failed %d %s, lost %d, duplicated %d, archives %d during, %d after, %d s%n",
        all.stream().mapToLong(FaultRig.Figures::started).sum(), all.stream().mapToLong(FaultRig.Figures::completed).sum(),
        during.completed(), after.completed(), all.stream().mapToLong(FaultRig.Figures::failed).sum(), during.reasons(),
        all.stream().mapToLong(FaultRig.Figures::lost).sum(), all.stream().mapToLong(FaultRig.Figures::duplicated).sum(),
        storedDuring.size(), storedAfter.size(), Duration.ofNanos(System.nanoTime() - began).toSeconds());
    assertThat(during.completed()).as("completed without its archive").isZero();
    assertThat(during.failed()).as("failed during the outage").isEqualTo(1);
    assertThat(during.reasons()).singleElement().asString().contains("could not be stored");
    assertThat(storedDuring).as("archives of the failed backup").isEmpty();
    assertThat(after.completed()).as("completed once the store is back").isEqualTo(1);
    assertThat(after.failed()).isZero();
    assertThat(storedAfter).as("archives of the next backup").hasSize(1);
    assertThat(all).allSatisfy(f -> {
      assertThat(f.lost()).as("lost").isZero();
      assertThat(f.duplicated()).as("duplicated").isZero();
    });
  }

  /** The objects s3proxy holds under one backup's folder (a directory per bucket, the key's path below it). */
  private List<String> archives(String backupId) throws java.io.IOException {
    return FaultRig.archives(rig.dir.resolve("s3").resolve(BUCKET), "s3o", backupId);
  }
}
