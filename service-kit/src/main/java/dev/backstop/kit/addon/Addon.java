package dev.backstop.kit.addon;

import dev.backstop.schemas.events.AddonSpec;
import dev.backstop.schemas.events.DatabaseNode;
import dev.backstop.schemas.events.Engine;
import dev.backstop.schemas.events.NodeRole;
import dev.backstop.schemas.events.Plan;
import dev.backstop.schemas.events.SealedSecret;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * An addon as every service keeps it: the one typed form of the Avro {@link AddonSpec} (same enums for
 * engine, plan and node role), plus whether it was removed and the revision it was last changed at.
 * Each service stores it, or the part it needs, through {@link dev.backstop.kit.store.StoredRecords}.
 *
 * <p>The plan's rules live here so that no service compares plan names: {@link #hasBackups()}.
 */
public record Addon(@BsonId String id, String appName, Engine engine, Plan plan, String database, String user,
    SealedPassword password, List<Node> nodes, DailySchedule schedule, boolean removed, long revision) {

  /** A database server of the addon. */
  public record Node(NodeRole role, String host, int port) {}

  /**
   * The addon's password as the gateway sealed it (AES-256-GCM, see {@link SealedSecret}); kept sealed,
   * opened only by the worker for the duration of a dump.
   */
  public record SealedPassword(String keyId, byte[] ciphertext) {

    @Override
    public boolean equals(Object o) {
      return o instanceof SealedPassword other && keyId.equals(other.keyId) && Arrays.equals(ciphertext, other.ciphertext);
    }

    @Override
    public int hashCode() {
      return 31 * keyId.hashCode() + Arrays.hashCode(ciphertext);
    }

    @Override
    public String toString() {
      return "SealedPassword[keyId=" + keyId + "]";
    }

    static SealedPassword of(SealedSecret secret) {
      ByteBuffer copy = secret.getCiphertext().duplicate();
      byte[] bytes = new byte[copy.remaining()];
      copy.get(bytes);
      return new SealedPassword(secret.getKeyId(), bytes);
    }

    SealedSecret toAvro() {
      return new SealedSecret(keyId, ByteBuffer.wrap(ciphertext.clone()));
    }
  }

  /** The addon as {@code spec} describes it at {@code revision}. */
  public static Addon of(AddonSpec spec, long revision) {
    return new Addon(spec.getAddonId(), spec.getAppName(), spec.getEngine(), spec.getPlan(), spec.getDatabase(),
        spec.getUser(), SealedPassword.of(spec.getPassword()),
        spec.getNodes().stream().map(n -> new Node(n.getRole(), n.getHost(), n.getPort())).toList(),
        DailySchedule.of(spec.getSchedule()), false, revision);
  }

  /** The whole state an {@code AddonRegistered}/{@code AddonChanged} event carries. */
  public AddonSpec toSpec() {
    return new AddonSpec(id, appName, engine, plan, database, user, password.toAvro(),
        nodes.stream().map(n -> new DatabaseNode(n.role(), n.host(), n.port())).toList(), schedule.toAvro());
  }

  /** Whether the addon's plan has backups at all (Sandbox plans have none). */
  public boolean hasBackups() {
    return hasBackups(plan);
  }

  /** Whether addons on {@code plan} have backups; null (no plan, e.g. removed) has none. */
  public static boolean hasBackups(Plan plan) {
    return plan != null && plan != Plan.SANDBOX;
  }

  /** Whether the plan allows secondary nodes (replicas the worker may dump from). */
  public static boolean allowsSecondaries(Plan plan) {
    return plan == Plan.BUSINESS;
  }

  public Addon withSchedule(DailySchedule newSchedule, long newRevision) {
    return new Addon(id, appName, engine, plan, database, user, password, nodes, newSchedule, removed, newRevision);
  }

}
