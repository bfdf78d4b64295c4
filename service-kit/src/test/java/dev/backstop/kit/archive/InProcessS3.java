package dev.backstop.kit.archive;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** An S3 server (s3proxy) in the test's JVM, storing buckets as directories, requiring signed requests. */
public final class InProcessS3 implements AutoCloseable {

  public static final String ACCESS_KEY = "backstop-test";
  public static final String SECRET_KEY = "backstop-test-secret";

  private final S3Proxy proxy;
  private final URI endpoint;

  private InProcessS3(S3Proxy proxy) {
    this.proxy = proxy;
    this.endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  public static InProcessS3 start(Path directory) throws Exception {
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(new FilesystemNio2BlobStore(directory.toString()))
        .endpoint(URI.create("http://127.0.0.1:0"))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        proxy.stop();
        throw new IllegalStateException("s3proxy did not start: " + proxy.getState());
      }
      Thread.sleep(10);
    }
    return new InProcessS3(proxy);
  }

  public URI endpoint() {
    return endpoint;
  }

  /** A path-style client for this server; interceptors see every request it sends. */
  public S3Client client(ExecutionInterceptor... interceptors) {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .overrideConfiguration(o -> o.executionInterceptors(List.of(interceptors)))
        .build();
  }

  @Override
  public void close() throws Exception {
    proxy.stop();
  }
}
