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
 * Faults of docs/reliability.md: the archive store (S3, an s3proxy in this JVM) stopped while a backup is
 * under way, and started again (same port, same buckets) — once before the upload begins (the dump held by a
 * lock on its table until the store is gone), once between two parts of a multipart upload. A backup before
 * it completes; the one it meets ends failed with the reason, never stuck running and never completed
 * without its archive; the next backup completes with its archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiveStoreOutageIT {

  private static final String ACCESS_KEY = "backstop-test";
  private static final String SECRET_KEY = "backstop-test-secret";
  private static final String BUCKET = "backstop-outage";

  /** Parts of 5 MiB (S3's smallest) from 5 MiB on: a dump of {@link #NOISE} goes up in 4 parts. */
  private static final String PART = "5MB";
  /** About 16 MB of random bytes: its archive, compressed, is still about that size. */
  private static final String NOISE = "CREATE TABLE IF NOT EXISTS noise AS SELECT g, decode(string_agg(md5(g || ':' || i), ''), 'hex') AS bytes "
      + "FROM generate_series(1, 1000) g, generate_series(1, 1000) i GROUP BY g";

  private FaultRig rig;
  private S3Proxy s3;
  private PartCutter cutter;
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
        "--backstop.archive.s3.secret-key=" + SECRET_KEY,
        "--backstop.archive.s3.multipart-threshold=" + PART,
        "--backstop.archive.s3.part-size=" + PART);
  }

  private S3Proxy startS3() throws Exception {
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(cutter = new PartCutter(new FilesystemNio2BlobStore(rig.dir.resolve("s3").toString())))
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

  @Test
  void an_archive_store_lost_between_two_parts_of_an_upload_fails_the_backup_and_the_next_backup_completes() throws Exception {
    rig.sql(NOISE);
    rig.register("s3m");
    long began = System.nanoTime();
    rig.request("s3m", "s3m-0");
    FaultRig.Figures before = rig.outcome("s3m-0", Duration.ofSeconds(60));
    assertThat(before.completed()).as("completed before the outage, in parts").isEqualTo(1);
    assertThat(cutter.parts.get()).as("parts of the first upload").isGreaterThanOrEqualTo(3);

    // the store answers the first part of the next upload, then fails the second and is gone
    cutter.cutAtPart(2);
    rig.request("s3m", "s3m-1");
    assertThat(cutter.cut.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("the second part reached the store").isTrue();
    s3.stop();
    FaultRig.Figures during = rig.outcome("s3m-1", Duration.ofSeconds(90));
    List<String> storedDuring = archives("s3m", "s3m-1");

    s3 = startS3();
    int leftBehind = incompleteUploads();
    rig.request("s3m", "s3m-2");
    FaultRig.Figures after = rig.outcome("s3m-2", Duration.ofSeconds(60));
    List<String> storedAfter = archives("s3m", "s3m-2");
    int leftAfter = incompleteUploads();

    List<FaultRig.Figures> all = List.of(before, during, after);
    System.out.printf("archive store lost between two parts: requested 3, started %d, completed %d (1 before, %d during, %d after), "
        + "failed %d %s, lost %d, duplicated %d, archives %d during, %d after, incomplete uploads %d once the store was back, "
        + "%d after the next backup, %d s%n",
        all.stream().mapToLong(FaultRig.Figures::started).sum(), all.stream().mapToLong(FaultRig.Figures::completed).sum(),
        during.completed(), after.completed(), all.stream().mapToLong(FaultRig.Figures::failed).sum(), during.reasons(),
        all.stream().mapToLong(FaultRig.Figures::lost).sum(), all.stream().mapToLong(FaultRig.Figures::duplicated).sum(),
        storedDuring.size(), storedAfter.size(), leftBehind, leftAfter, Duration.ofNanos(System.nanoTime() - began).toSeconds());
    assertThat(during.completed()).as("completed without its archive").isZero();
    assertThat(during.failed()).as("failed when the store went away mid-upload").isEqualTo(1);
    assertThat(during.reasons()).singleElement().asString().contains("could not be stored").contains("multipart upload");
    assertThat(storedDuring).as("archives of the failed backup: its parts never became an object").isEmpty();
    assertThat(after.completed()).as("completed once the store is back").isEqualTo(1);
    assertThat(storedAfter).as("archives of the next backup").hasSize(1);
    assertThat(leftBehind).as("the cut upload, which the store could not be told to abort").isEqualTo(1);
    assertThat(leftAfter).as("incomplete uploads once the next upload went up: the cut one aborted before it").isZero();
    assertThat(all).allSatisfy(f -> {
      assertThat(f.lost()).as("lost").isZero();
      assertThat(f.duplicated()).as("duplicated").isZero();
    });
  }

  /** Multipart uploads begun and neither completed nor aborted, as the store lists them. */
  private int incompleteUploads() {
    try (var client = software.amazon.awssdk.services.s3.S3Client.builder()
        .endpointOverride(URI.create("http://127.0.0.1:" + s3Port)).forcePathStyle(true)
        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY))).build()) {
      return client.listMultipartUploads(b -> b.bucket(BUCKET)).uploads().size();
    }
  }

  /** The objects s3proxy holds under one backup's folder (a directory per bucket, the key's path below it). */
  private List<String> archives(String backupId) throws java.io.IOException {
    return archives("s3o", backupId);
  }

  private List<String> archives(String addonId, String backupId) throws java.io.IOException {
    return FaultRig.archives(rig.dir.resolve("s3").resolve(BUCKET), addonId, backupId);
  }

  /**
   * The store as s3proxy serves it, which once {@link #cutAtPart armed} fails every upload of that part
   * number on (a server error, as a store going down answers) and says so; the test then stops the store.
   */
  private static final class PartCutter extends org.gaul.s3proxy.blobstore.ForwardingBlobStore {
    final java.util.concurrent.atomic.AtomicInteger parts = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.CountDownLatch cut = new java.util.concurrent.CountDownLatch(1);
    private volatile int cutAt = Integer.MAX_VALUE;

    PartCutter(org.gaul.s3proxy.blobstore.BlobStore store) {
      super(store);
    }

    void cutAtPart(int partNumber) {
      cutAt = partNumber;
    }

    @Override
    public software.amazon.awssdk.services.s3.model.UploadPartResponse uploadMultipartPart(
        org.gaul.s3proxy.blobstore.domain.MultipartUpload upload, software.amazon.awssdk.services.s3.model.UploadPartRequest request,
        java.io.InputStream content) {
      if (request.partNumber() >= cutAt) {
        cut.countDown();
        throw new IllegalStateException("the store is going away");
      }
      parts.incrementAndGet();
      return super.uploadMultipartPart(upload, request, content);
    }
  }
}
