package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/** The contract against s3proxy in this JVM, with 5 MiB parts so the ~12 MiB archives go up in three. */
class S3ArchiveStoreTest extends ArchiveStoreContractTest {

  static final long PART = 5 * 1024 * 1024;
  static final String PREFIX = "backstop/archives";
  private static final AtomicInteger buckets = new AtomicInteger();

  @TempDir static Path s3Root;
  static InProcessS3 s3;
  static S3Client raw;

  Recorder recorder;
  String bucket;

  @BeforeAll
  static void startS3() throws Exception {
    s3 = InProcessS3.start(s3Root);
    raw = s3.client();
  }

  @AfterAll
  static void stopS3() throws Exception {
    raw.close();
    s3.close();
  }

  @Override
  ArchiveStore newStore() throws IOException {
    recorder = new Recorder();
    bucket = "archives-" + buckets.incrementAndGet();
    S3ArchiveStore store = new S3ArchiveStore(s3.client(recorder), bucket, PREFIX, PART, PART);
    store.createBucketIfMissing();
    recorder.requests.clear();
    return store;
  }

  @AfterEach
  void closeStore() {
    ((S3ArchiveStore) store).close();
  }

  @Test
  void theBucketIsCreatedOnceAndKeysGetThePrefix() throws IOException {
    ((S3ArchiveStore) store).createBucketIfMissing();
    store.put("a/b/c", file("c", randomBytes(10, 1)));

    assertThat(raw.listObjectsV2Paginator(b -> b.bucket(bucket)).contents()).extracting(S3Object::key)
        .containsExactly(PREFIX + "/a/b/c");
  }

  @Test
  void aSmallArchiveGoesUpInOnePut() throws IOException {
    store.put("a/b/small", file("small", randomBytes((int) PART, 2)));

    assertThat(recorder.count(PutObjectRequest.class)).isEqualTo(1);
    assertThat(recorder.count(CreateMultipartUploadRequest.class)).isZero();
  }

  @Test
  void aLargeArchiveGoesUpInParts() throws IOException {
    byte[] bytes = randomBytes(LARGE, 3);
    store.put("a/b/large", file("large", bytes));

    assertThat(recorder.count(PutObjectRequest.class)).isZero();
    assertThat(recorder.count(CreateMultipartUploadRequest.class)).isEqualTo(1);
    assertThat(recorder.of(UploadPartRequest.class)).extracting(UploadPartRequest::partNumber, UploadPartRequest::contentLength)
        .containsExactly(tuple(1, PART), tuple(2, PART), tuple(3, LARGE - 2 * PART));
    assertThat(recorder.count(CompleteMultipartUploadRequest.class)).isEqualTo(1);
    assertThat(read(store.open("a/b/large", 0))).isEqualTo(bytes);
  }

  @Test
  void aFailedMultipartUploadIsAbortedAndLeavesNothingVisible() throws IOException {
    recorder.failWhen = r -> r instanceof UploadPartRequest part && part.partNumber() == 2;
    Path file = file("large", randomBytes(LARGE, 4));

    assertThatThrownBy(() -> store.put("a/b/large", file)).isInstanceOf(IOException.class)
        .hasMessageContaining("a/b/large");

    assertThat(recorder.count(AbortMultipartUploadRequest.class)).isEqualTo(1);
    assertThat(recorder.count(CompleteMultipartUploadRequest.class)).isZero();
    assertThat(store.exists("a/b/large")).isFalse();
    assertThat(raw.listMultipartUploads(b -> b.bucket(bucket)).uploads()).isEmpty();
  }

  @Test
  void anOffsetBecomesARangeHeader() throws IOException {
    store.put("a/b/c", file("c", randomBytes(100, 5)));
    read(store.open("a/b/c", 0));
    read(store.open("a/b/c", 42));

    assertThat(recorder.of(GetObjectRequest.class)).extracting(GetObjectRequest::range)
        .containsExactly(null, "bytes=42-");
  }

  @Test
  void aMissingBucketIsAFailureNotAMissingArchive() {
    S3ArchiveStore elsewhere = new S3ArchiveStore(s3.client(), "no-such-bucket", "");
    try (elsewhere) {
      assertThatThrownBy(() -> elsewhere.open("a/b/c", 0)).isInstanceOf(IOException.class)
          .isNotInstanceOf(ArchiveStore.NoSuchArchiveException.class);
      assertThatThrownBy(() -> elsewhere.put("a/b/c", file("c", randomBytes(10, 6)))).isInstanceOf(IOException.class);
    }
  }

  /** Sees every request the store's client sends, and fails those it is told to. */
  static final class Recorder implements ExecutionInterceptor {
    final List<SdkRequest> requests = new CopyOnWriteArrayList<>();
    volatile Predicate<SdkRequest> failWhen = r -> false;

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
      requests.add(context.request());
      if (failWhen.test(context.request())) {
        throw SdkClientException.create("injected failure");
      }
    }

    <T extends SdkRequest> List<T> of(Class<T> type) {
      return requests.stream().filter(type::isInstance).map(type::cast).toList();
    }

    long count(Class<? extends SdkRequest> type) {
      return of(type).size();
    }
  }
}
