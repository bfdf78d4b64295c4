package dev.backstop.kit.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.URI;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.StringUtils;
import org.springframework.validation.annotation.Validated;

/** Settings shared by every Backstop service ({@code backstop.*}). */
@Validated
@ConfigurationProperties("backstop")
public class BackstopProperties {

  @Valid private final Kafka kafka = new Kafka();
  @Valid private final Archive archive = new Archive();
  @Valid private final Secrets secrets = new Secrets();
  @Valid private final Mongodb mongodb = new Mongodb();

  public Mongodb getMongodb() {
    return mongodb;
  }

  public Kafka getKafka() {
    return kafka;
  }

  public Archive getArchive() {
    return archive;
  }

  public Secrets getSecrets() {
    return secrets;
  }

  public static class Kafka {
    /** Partitions of each Backstop topic when a service creates it; bounds how many consumers share a topic. */
    @Min(1)
    @Max(1000)
    private int partitions = 3;

    /** Replication factor of each Backstop topic when a service creates it (3 in production, 1 embedded). */
    @Min(1)
    @Max(7)
    private short replicationFactor = 1;

    public int getPartitions() {
      return partitions;
    }

    public void setPartitions(int partitions) {
      this.partitions = partitions;
    }

    public short getReplicationFactor() {
      return replicationFactor;
    }

    public void setReplicationFactor(short replicationFactor) {
      this.replicationFactor = replicationFactor;
    }
  }

  public static class Archive {
    /** Where archives live: {@code filesystem} (default, under {@link #directory}) or {@code s3} (see {@link #s3}). */
    @NotNull
    @Pattern(regexp = "filesystem|s3", message = "must be filesystem or s3")
    private String type = "filesystem";

    /** Root directory of the filesystem archive store; shared by the dump worker, retention and the gateway. */
    @NotNull private Path directory = Path.of("archives");

    /** The S3 (or S3-compatible, such as MinIO) archive store, used when {@link #type} is {@code s3}. */
    @Valid private final S3 s3 = new S3();

    /** Whether new archives are encrypted at rest (Tink streaming AEAD, a data key per addon); archives already stored keep how they were written. */
    private boolean encrypt = true;

    public boolean isEncrypt() {
      return encrypt;
    }

    public void setEncrypt(boolean encrypt) {
      this.encrypt = encrypt;
    }

    public String getType() {
      return type;
    }

    public void setType(String type) {
      this.type = type;
    }

    public Path getDirectory() {
      return directory;
    }

    public void setDirectory(Path directory) {
      this.directory = directory;
    }

    public S3 getS3() {
      return s3;
    }

    @AssertTrue(message = "backstop.archive.s3.bucket must be set when backstop.archive.type is s3")
    public boolean isS3BucketGivenWhenUsed() {
      return !"s3".equals(type) || StringUtils.hasText(s3.getBucket());
    }
  }

  public static class S3 {
    /** Endpoint of an S3-compatible service, e.g. {@code http://minio:9000}; unset: AWS S3 in {@link #region}. */
    private URI endpoint;

    /** Region requests are signed for and a new bucket is created in; S3-compatible services mostly ignore it. */
    @NotBlank private String region = "us-east-1";

    /** Bucket holding the archives; created at start-up when it does not exist. Required with type s3. */
    private String bucket;

    /** Put before every archive key inside the bucket, e.g. {@code backstop/}; empty: none. */
    private String prefix = "";

    /** Path-style URLs ({@code http://host/bucket/key}) instead of virtual-hosted ones; MinIO needs true. */
    private boolean pathStyle;

    /** Access key id; unset (with {@link #secretKey}): the AWS default credentials chain (env, profile, IAM role). */
    private String accessKey;

    /** Secret access key belonging to {@link #accessKey}; never logged. */
    private String secretKey;

    public URI getEndpoint() {
      return endpoint;
    }

    public void setEndpoint(URI endpoint) {
      this.endpoint = endpoint;
    }

    public String getRegion() {
      return region;
    }

    public void setRegion(String region) {
      this.region = region;
    }

    public String getBucket() {
      return bucket;
    }

    public void setBucket(String bucket) {
      this.bucket = bucket;
    }

    public String getPrefix() {
      return prefix;
    }

    public void setPrefix(String prefix) {
      this.prefix = prefix;
    }

    public boolean isPathStyle() {
      return pathStyle;
    }

    public void setPathStyle(boolean pathStyle) {
      this.pathStyle = pathStyle;
    }

    public String getAccessKey() {
      return accessKey;
    }

    public void setAccessKey(String accessKey) {
      this.accessKey = accessKey;
    }

    public String getSecretKey() {
      return secretKey;
    }

    public void setSecretKey(String secretKey) {
      this.secretKey = secretKey;
    }

    /** Whether static credentials are configured; blank values (unset environment variables) count as absent. */
    public boolean hasStaticCredentials() {
      return StringUtils.hasText(accessKey) && StringUtils.hasText(secretKey);
    }

    @AssertTrue(message = "backstop.archive.s3.access-key and secret-key must be set together, or neither")
    public boolean isCredentialsComplete() {
      return StringUtils.hasText(accessKey) == StringUtils.hasText(secretKey);
    }

    @Override
    public String toString() {
      // secretKey left out: this may end up in a log line or a failure message
      return "S3[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", prefix=" + prefix
          + ", pathStyle=" + pathStyle + ", staticCredentials=" + hasStaticCredentials() + "]";
    }
  }

  public static class Secrets {
    /**
     * Base64 of the 32-byte key that seals database passwords inside events; the gateway seals, the
     * dump worker opens. Set from {@code BACKSTOP_SECRETS_KEY}; never logged.
     */
    private String key;

    public String getKey() {
      return key;
    }

    public void setKey(String key) {
      this.key = key;
    }
  }

  public static class Mongodb {
    /** Name of this service's database on the MongoDB server given by {@code spring.mongodb.uri}. */
    @jakarta.validation.constraints.NotBlank private String database = "backstop";

    public String getDatabase() {
      return database;
    }

    public void setDatabase(String database) {
      this.database = database;
    }
  }
}
