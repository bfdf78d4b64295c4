package dev.backstop.kit.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
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
    /** Where archives live: {@code filesystem} (default). */
    @NotNull private String type = "filesystem";

    /** Root directory of the filesystem archive store; shared by the dump worker, retention and the gateway. */
    @NotNull private Path directory = Path.of("archives");

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
