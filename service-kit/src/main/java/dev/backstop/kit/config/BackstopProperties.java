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
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.util.StringUtils;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Settings shared by every Backstop service ({@code backstop.*}), bound once at startup through the constructor.
 * Each default is written here and nowhere else: environment variables whose name is the relaxed name of a
 * property (e.g. {@code BACKSTOP_ARCHIVE_TYPE}, {@code BACKSTOP_KAFKA_PARTITIONS}) reach it without any yml
 * placeholder; the yml maps only the variables named otherwise ({@code BACKSTOP_ARCHIVE_DIR},
 * {@code BACKSTOP_S3_*}), with an empty fallback, which is why blank values here count as unset.
 *
 * @param kafka topics a service creates
 * @param archive where archives live and how they are written
 * @param secrets the key sealing passwords in events and archives at rest
 * @param mongodb this service's database
 */
@Validated
@ConfigurationProperties("backstop")
public record BackstopProperties(
    @Valid @NotNull @DefaultValue Kafka kafka,
    @Valid @NotNull @DefaultValue Archive archive,
    @Valid @NotNull @DefaultValue Secrets secrets,
    @Valid @NotNull @DefaultValue Mongodb mongodb) {

  /**
   * The settings {@code settings} gives (keys as in {@code backstop.*}, e.g. {@code archive.encrypt}, values as
   * text or already typed), every other one at its default: what Spring binds, for tests and tools.
   */
  public static BackstopProperties bind(Map<String, ?> settings) {
    Map<String, Object> prefixed = new LinkedHashMap<>();
    settings.forEach((key, value) -> prefixed.put("backstop." + key, value));
    return new Binder(new MapConfigurationPropertySource(prefixed))
        .bindOrCreate("backstop", Bindable.of(BackstopProperties.class));
  }

  /**
   * @param partitions partitions of each Backstop topic when a service creates it; bounds how many consumers
   *     share a topic
   * @param replicationFactor replication factor of each Backstop topic when a service creates it (3 in
   *     production, 1 embedded)
   */
  public record Kafka(
      @Min(1) @Max(1000) @DefaultValue("3") int partitions,
      @Min(1) @Max(7) @DefaultValue("1") short replicationFactor) {}

  /**
   * @param type where archives live: {@code filesystem} (under {@code directory}) or {@code s3} (see {@code s3})
   * @param directory root directory of the filesystem archive store; shared by the dump worker, retention and
   *     the gateway (default {@code archives}; from {@code BACKSTOP_ARCHIVE_DIR})
   * @param s3 the S3 (or S3-compatible, such as MinIO) archive store, used when {@code type} is {@code s3}
   * @param encrypt whether new archives are encrypted at rest (Tink streaming AEAD, a data key per addon);
   *     archives already stored keep how they were written
   */
  public record Archive(
      @NotNull @Pattern(regexp = "filesystem|s3", message = "must be filesystem or s3") @DefaultValue("filesystem")
      String type,
      @NotNull Path directory,
      @Valid @NotNull @DefaultValue S3 s3,
      @DefaultValue("true") boolean encrypt) {

    public Archive {
      // no @DefaultValue: the yml's ${BACKSTOP_ARCHIVE_DIR:} gives an empty value when the variable is unset
      if (directory == null || directory.toString().isEmpty()) {
        directory = Path.of("archives");
      }
    }

    @AssertTrue(message = "backstop.archive.s3.bucket must be set when backstop.archive.type is s3")
    public boolean isS3BucketGivenWhenUsed() {
      return !"s3".equals(type) || s3 == null || StringUtils.hasText(s3.bucket());
    }
  }

  /**
   * Blank values count as unset: the shared yml maps each {@code BACKSTOP_S3_*} variable with an empty fallback.
   *
   * @param endpoint endpoint of an S3-compatible service, e.g. {@code http://minio:9000}; unset: AWS S3 in
   *     {@code region}
   * @param region region requests are signed for and a new bucket is created in (default {@code us-east-1});
   *     S3-compatible services mostly ignore it
   * @param bucket bucket holding the archives; created at start-up when it does not exist. Required with type s3
   * @param prefix put before every archive key inside the bucket, e.g. {@code backstop/}; unset: none
   * @param pathStyle path-style URLs ({@code http://host/bucket/key}) instead of virtual-hosted ones; MinIO needs
   *     true
   * @param accessKey access key id; unset (with {@code secretKey}): the AWS default credentials chain (env,
   *     profile, IAM role)
   * @param secretKey secret access key belonging to {@code accessKey}; never logged
   * @param multipartThreshold archives larger than this go up as a multipart upload (default 64MB)
   * @param partSize the size of each part of a multipart upload (default 32MB; S3's minimum is 5MB)
   */
  public record S3(
      URI endpoint,
      @NotBlank String region,
      String bucket,
      @NotNull String prefix,
      Boolean pathStyle,
      String accessKey,
      String secretKey,
      DataSize multipartThreshold,
      DataSize partSize) {

    public S3 {
      if (!StringUtils.hasText(region)) {
        region = "us-east-1";
      }
      if (prefix == null) {
        prefix = "";
      }
      // boxed: an empty value binds as null, which a primitive refuses
      if (pathStyle == null) {
        pathStyle = false;
      }
      if (multipartThreshold == null) {
        multipartThreshold = DataSize.ofBytes(dev.backstop.kit.archive.S3ArchiveStore.DEFAULT_MULTIPART_THRESHOLD);
      }
      if (partSize == null) {
        partSize = DataSize.ofBytes(dev.backstop.kit.archive.S3ArchiveStore.DEFAULT_PART_SIZE);
      }
    }

    @AssertTrue(message = "backstop.archive.s3.part-size must be at least 5MB (S3's smallest part) and "
        + "backstop.archive.s3.multipart-threshold not negative")
    public boolean isMultipartValid() {
      return partSize.toBytes() >= dev.backstop.kit.archive.S3ArchiveStore.MIN_PART_SIZE && !multipartThreshold.isNegative();
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
          + ", pathStyle=" + pathStyle + ", staticCredentials=" + hasStaticCredentials()
          + ", multipartThreshold=" + multipartThreshold + ", partSize=" + partSize + "]";
    }
  }

  /**
   * @param key base64 of the 32-byte key that seals database passwords inside events; the gateway seals, the
   *     dump worker opens. Set from {@code BACKSTOP_SECRETS_KEY}; never logged
   */
  public record Secrets(String key) {
    @Override
    public String toString() {
      // the key is a credential: this may end up in a log line or a failure message
      return "Secrets[key=" + (key == null ? "unset" : "<hidden>") + "]";
    }
  }

  /** @param database name of this service's database on the MongoDB server given by {@code spring.mongodb.uri} */
  public record Mongodb(@NotBlank @DefaultValue("backstop") String database) {}
}
