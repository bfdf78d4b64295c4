package dev.backstop.kit.archive;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyExistsException;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateBucketConfiguration;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * Archives as objects in an S3 bucket (AWS S3, MinIO or any S3-compatible service), each under
 * {@code <prefix><key>}.
 *
 * <p>Atomicity comes from S3 itself: an object becomes visible only when its PutObject or
 * CompleteMultipartUpload succeeds, so a reader never sees a partial archive. A multipart upload that
 * fails is aborted; if the store cannot be told (it went away mid-upload), the abort is tried again before
 * each later upload until the store takes it. One left behind by a crashed process stays invisible but keeps
 * its parts billed until a bucket lifecycle rule ("abort incomplete multipart uploads after N days")
 * removes it.
 *
 * <p>S3 failures surface as {@link IOException}s, like the filesystem store's, so callers handle one kind of
 * error. The store owns the client it is given and closes it in {@link #close()}.
 *
 * <p>The credentials need {@code s3:ListBucket} besides object read, write and delete: without it AWS answers
 * 403 instead of 404 for a missing key, and a missing archive would be reported as a failure.
 */
public class S3ArchiveStore implements ArchiveStore, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(S3ArchiveStore.class);

  private static final long MIB = 1024 * 1024;
  /** S3's smallest part, except the last one. */
  public static final long MIN_PART_SIZE = 5 * MIB;
  /** S3's most parts per upload. */
  static final int MAX_PARTS = 10_000;
  public static final long DEFAULT_MULTIPART_THRESHOLD = 64 * MIB;
  public static final long DEFAULT_PART_SIZE = 32 * MIB;

  private final S3Client client;
  private final String bucket;
  private final String prefix;
  private final long multipartThreshold;
  private final long partSize;
  /** Multipart uploads that failed and could not be aborted then: object key → upload id. */
  private final java.util.Map<String, String> abortsOwed = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * @param prefix put before every key inside the bucket, e.g. {@code backstop/}; a missing trailing slash is
   *     added, null or blank means none
   */
  public S3ArchiveStore(S3Client client, String bucket, String prefix) {
    this(client, bucket, prefix, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE);
  }

  /**
   * @param multipartThreshold archives above this many bytes go up in parts
   * @param partSize bytes per part, at least {@link #MIN_PART_SIZE} (larger for archives that would need
   *     more than 10,000 parts)
   */
  public S3ArchiveStore(S3Client client, String bucket, String prefix, long multipartThreshold, long partSize) {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("an S3 archive store needs a bucket");
    }
    if (partSize < MIN_PART_SIZE) {
      throw new IllegalArgumentException("S3 parts are at least " + MIN_PART_SIZE + " bytes, not " + partSize);
    }
    if (multipartThreshold < 0) {
      throw new IllegalArgumentException("negative multipart threshold " + multipartThreshold);
    }
    this.client = client;
    this.bucket = bucket;
    this.prefix = normalizePrefix(prefix);
    this.multipartThreshold = multipartThreshold;
    this.partSize = partSize;
  }

  /**
   * Creates the bucket unless it exists; a bucket that another service created concurrently counts as
   * existing. When the credentials may not inspect the bucket (403) it is assumed to exist: puts will tell.
   */
  public void createBucketIfMissing() throws IOException {
    try {
      client.headBucket(b -> b.bucket(bucket));
      return;
    } catch (S3Exception e) {
      if (e.statusCode() == 403) {
        log.warn("cannot check S3 bucket {} (403 Forbidden); assuming it exists", bucket);
        return;
      }
      if (e.statusCode() != 404) {
        throw failure("checking bucket " + bucket, e);
      }
    } catch (SdkException e) {
      throw failure("checking bucket " + bucket, e);
    }
    Region region = client.serviceClientConfiguration().region();
    try {
      client.createBucket(b -> {
        b.bucket(bucket);
        // us-east-1 is S3's default location and AWS rejects it as an explicit constraint
        if (region != null && !Region.US_EAST_1.equals(region)) {
          b.createBucketConfiguration(CreateBucketConfiguration.builder().locationConstraint(region.id()).build());
        }
      });
      log.info("created S3 bucket {}", bucket);
    } catch (BucketAlreadyOwnedByYouException | BucketAlreadyExistsException e) {
      log.debug("S3 bucket {} was created concurrently", bucket);
    } catch (SdkException e) {
      throw failure("creating bucket " + bucket, e);
    }
  }

  /**
   * Uploads the file; one PutObject up to the multipart threshold, a multipart upload above it. Either way the
   * object appears only once complete, replacing any object of the same key.
   */
  @Override
  public void put(String key, Path file) throws IOException {
    abortOwedUploads();
    String objectKey = objectKey(key);
    long length = Files.size(file);
    if (length <= multipartThreshold) {
      try {
        client.putObject(b -> b.bucket(bucket).key(objectKey).contentType("application/octet-stream"),
            RequestBody.fromFile(file));
      } catch (SdkException e) {
        throw failure("upload of " + key, e);
      }
    } else {
      putMultipart(key, objectKey, file, length);
    }
  }

  @Override
  public boolean putIfAbsent(String key, Path file) throws IOException {
    try {
      // a conditional write: S3 (and MinIO) refuse it with 412 once the object exists
      client.putObject(b -> b.bucket(bucket).key(objectKey(key)).contentType("application/octet-stream").ifNoneMatch("*"),
          RequestBody.fromFile(file));
      return true;
    } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
      if (e.statusCode() == 412 || e.statusCode() == 409) {
        return false;
      }
      throw failure("upload of " + key, e);
    } catch (SdkException e) {
      throw failure("upload of " + key, e);
    }
  }

  private void putMultipart(String key, String objectKey, Path file, long length) throws IOException {
    // S3 allows at most 10,000 parts: very large archives get larger parts, rounded up to whole MiB
    long partBytes = Math.max(partSize, Math.ceilDiv(Math.ceilDiv(length, MAX_PARTS), MIB) * MIB);
    String uploadId;
    try {
      // the SDK checksums each part (CRC32 by default); AWS rejects parts whose algorithm differs from the one the
      // upload declared, and wants every part's checksum again on completion
      uploadId = client.createMultipartUpload(b -> b.bucket(bucket).key(objectKey)
          .contentType("application/octet-stream").checksumAlgorithm(ChecksumAlgorithm.CRC32)).uploadId();
    } catch (SdkException e) {
      throw failure("starting the multipart upload of " + key, e);
    }
    try {
      List<CompletedPart> parts = new ArrayList<>();
      int partNumber = 1;
      for (long offset = 0; offset < length; offset += partBytes, partNumber++) {
        long partLength = Math.min(partBytes, length - offset);
        int number = partNumber;
        UploadPartResponse uploaded;
        try (FileSlice slice = new FileSlice(file, offset, partLength)) {
          uploaded = client.uploadPart(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId).partNumber(number)
                  .contentLength(partLength).checksumAlgorithm(ChecksumAlgorithm.CRC32),
              RequestBody.fromContentProvider(slice, partLength, "application/octet-stream"));
        }
        parts.add(CompletedPart.builder().partNumber(number).eTag(uploaded.eTag())
            .checksumCRC32(uploaded.checksumCRC32()).build());
      }
      client.completeMultipartUpload(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId)
          .multipartUpload(m -> m.parts(parts)));
    } catch (SdkException e) {
      IOException failure = failure("multipart upload of " + key, e);
      abort(objectKey, uploadId, failure);
      throw failure;
    } catch (UncheckedIOException e) {
      abort(objectKey, uploadId, e.getCause());
      throw e.getCause();
    } catch (IOException | RuntimeException | Error e) {
      abort(objectKey, uploadId, e);
      throw e;
    }
  }

  private void abort(String objectKey, String uploadId, Throwable cause) {
    try {
      client.abortMultipartUpload(b -> b.bucket(bucket).key(objectKey).uploadId(uploadId));
    } catch (software.amazon.awssdk.services.s3.model.NoSuchUploadException e) {
      // nothing left of it
    } catch (RuntimeException e) {
      cause.addSuppressed(e);
      abortsOwed.put(objectKey, uploadId);
    }
  }

  /** Aborts the uploads whose abort failed before; one the store still cannot take waits for the next upload. */
  private void abortOwedUploads() {
    for (var owed : abortsOwed.entrySet()) {
      try {
        client.abortMultipartUpload(b -> b.bucket(bucket).key(owed.getKey()).uploadId(owed.getValue()));
        log.info("aborted the multipart upload of {} that failed when the store went away", owed.getKey());
      } catch (software.amazon.awssdk.services.s3.model.NoSuchUploadException e) {
        log.debug("the multipart upload of {} was gone already", owed.getKey());
      } catch (SdkException e) {
        log.warn("could not abort the failed multipart upload of {} yet: {}", owed.getKey(), e.getMessage());
        return;
      }
      abortsOwed.remove(owed.getKey(), owed.getValue());
    }
  }

  /**
   * Streams the object from {@code offset} with a ranged GET. An offset at or past the end gives an empty
   * stream, as a file does. Close the stream even when not reading it to the end: closing early drops the
   * connection rather than downloading the rest.
   */
  @Override
  public InputStream open(String key, long offset) throws IOException {
    if (offset < 0) {
      throw new IllegalArgumentException("negative offset " + offset);
    }
    GetObjectRequest.Builder request = GetObjectRequest.builder().bucket(bucket).key(objectKey(key));
    if (offset > 0) {
      request.range("bytes=" + offset + "-");
    }
    try {
      return new AbortOnEarlyClose(client.getObject(request.build()));
    } catch (S3Exception e) {
      if (e.statusCode() == 404 && !isMissingBucket(e)) {
        throw new NoSuchArchiveException(key);
      }
      if (e.statusCode() == 416) {
        // S3 answers 404 for a missing key before it looks at the range: the archive exists and the offset is
        // past its end
        return InputStream.nullInputStream();
      }
      throw failure("download of " + key, e);
    } catch (SdkException e) {
      throw failure("download of " + key, e);
    }
  }

  @Override
  public long size(String key) throws IOException {
    HeadObjectResponse head = head(key);
    if (head == null) {
      throw new NoSuchArchiveException(key);
    }
    return head.contentLength();
  }

  @Override
  public boolean exists(String key) throws IOException {
    return head(key) != null;
  }

  /**
   * S3's DeleteObject succeeds whether or not the object exists, so this asks first: two concurrent deletes of
   * one archive may both return true.
   */
  @Override
  public boolean delete(String key) throws IOException {
    if (!exists(key)) {
      return false;
    }
    try {
      client.deleteObject(b -> b.bucket(bucket).key(objectKey(key)));
      return true;
    } catch (SdkException e) {
      throw failure("deletion of " + key, e);
    }
  }

  /** ListObjectsV2 pages under the prefix; S3 already returns keys in ascending UTF-8 byte order. */
  @Override
  public List<String> list(String keyPrefix) throws IOException {
    if (keyPrefix.startsWith("/") || ("/" + keyPrefix).contains("/../") || ("/" + keyPrefix).endsWith("/..")) {
      throw new IllegalArgumentException("archive prefix escapes the store: " + keyPrefix);
    }
    List<String> keys = new ArrayList<>();
    try {
      String full = prefix + keyPrefix;
      for (var page : client.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(full))) {
        for (var object : page.contents()) {
          keys.add(object.key().substring(prefix.length()));
        }
      }
    } catch (SdkException e) {
      throw failure("listing of " + keyPrefix, e);
    }
    return keys;
  }

  /** Closes the S3 client. */
  @Override
  public void close() {
    client.close();
  }

  @Override
  public String toString() {
    return "S3ArchiveStore[s3://" + bucket + "/" + prefix + "]";
  }

  /** A GET tells a missing bucket from a missing key; a HEAD has no body to say which, so a 404 there is a missing key. */
  private static boolean isMissingBucket(S3Exception e) {
    return e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode());
  }

  /** The object's metadata, or null when there is no such object. */
  private HeadObjectResponse head(String key) throws IOException {
    try {
      return client.headObject(b -> b.bucket(bucket).key(objectKey(key)));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return null;
      }
      throw failure("lookup of " + key, e);
    } catch (SdkException e) {
      throw failure("lookup of " + key, e);
    }
  }

  /**
   * Keys are relative paths, as in the filesystem store. S3 would take {@code ..} literally, but it is rejected
   * all the same: the same key must mean the same archive in either store, and some S3-compatible servers
   * resolve it against the prefix.
   */
  private String objectKey(String key) {
    if (key == null || key.isEmpty() || key.startsWith("/")) {
      throw new IllegalArgumentException("archive key escapes the store: " + key);
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("archive key escapes the store: " + key);
      }
    }
    return prefix + key;
  }

  private static String normalizePrefix(String prefix) {
    if (prefix == null) {
      return "";
    }
    String trimmed = prefix.strip();
    while (trimmed.startsWith("/")) {
      trimmed = trimmed.substring(1);
    }
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    return trimmed.isEmpty() ? "" : trimmed + "/";
  }

  private static IOException failure(String what, Exception e) {
    return new IOException("S3 " + what + " failed: " + e.getMessage(), e);
  }

  /**
   * One part's bytes, read straight from the file. The SDK may ask for the stream again to retry or to
   * checksum, so each request opens a fresh one and closes the one before.
   */
  private static final class FileSlice implements ContentStreamProvider, AutoCloseable {
    private final Path file;
    private final long offset;
    private final long length;
    private InputStream current;

    FileSlice(Path file, long offset, long length) {
      this.file = file;
      this.offset = offset;
      this.length = length;
    }

    @Override
    public InputStream newStream() {
      try {
        close();
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        channel.position(offset);
        current = new BoundedInputStream(Channels.newInputStream(channel), length);
        return current;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void close() throws IOException {
      if (current != null) {
        current.close();
        current = null;
      }
    }
  }

  /**
   * Closing an SDK response stream before its end reads the rest of the body so the connection can be reused:
   * a ranged download that stops early would fetch up to the whole archive for nothing. Aborting drops the
   * connection instead.
   */
  private static final class AbortOnEarlyClose extends FilterInputStream {
    private final ResponseInputStream<GetObjectResponse> response;
    /** Bytes of the body not read yet; negative when the server did not say how long it is. */
    private long remaining;

    AbortOnEarlyClose(ResponseInputStream<GetObjectResponse> response) {
      super(response);
      this.response = response;
      Long length = response.response().contentLength();
      this.remaining = length == null ? -1 : length;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      consumed(b < 0 ? -1 : 1);
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      consumed(n);
      return n;
    }

    private void consumed(int n) {
      if (n < 0) {
        remaining = 0;
      } else if (remaining > 0) {
        remaining = Math.max(0, remaining - n);
      }
    }

    @Override
    public void close() throws IOException {
      if (remaining != 0) {
        response.abort();
      }
      super.close();
    }
  }
}
