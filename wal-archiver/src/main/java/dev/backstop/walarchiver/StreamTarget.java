package dev.backstop.walarchiver;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * The node an addon's WAL is streamed from. {@code password} is given to the driver only (never logged,
 * never in a URL); {@code reason} says why this node (the plan's choice, or why the primary stands in);
 * {@code primaryHost:primaryPort} is where the latest archived instant is probed (the streamed node itself
 * on Starter); {@code appName} names the app in the base backups the stream requests; {@code others} are the
 * addon's other nodes, whose slots of the same name are kept just behind the archive so that the stream can
 * move there without a gap (docs/pitr-design.md §1.3); {@code fallback} is null on the node the plan chooses,
 * else why the stream runs elsewhere (the secondary unreachable: the primary stands in).
 */
public record StreamTarget(String addonId, String appName, String host, int port, String primaryHost, int primaryPort,
    List<Node> others, String user, String password, String reason, String fallback) {

  /** Another node of the addon. */
  public record Node(String host, int port) {
    String url() {
      return "jdbc:postgresql://" + host + ":" + port + "/postgres";
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  public StreamTarget {
    others = List.copyOf(others);
  }

  /** The stream on the node the plan chooses. */
  public StreamTarget(String addonId, String appName, String host, int port, String primaryHost, int primaryPort,
      List<Node> others, String user, String password, String reason) {
    this(addonId, appName, host, port, primaryHost, primaryPort, others, user, password, reason, null);
  }

  /** Whether the stream runs on another node than the primary, which can then stand in for it. */
  public boolean canFallBackToPrimary() {
    return !(host.equals(primaryHost) && port == primaryPort);
  }

  /**
   * The same stream on the primary, {@code why} saying why the plan's node is not used; this node becomes one
   * of the others (its slot kept behind the archive, ready for the stream's return).
   */
  public StreamTarget onPrimary(String why) {
    Node primary = new Node(primaryHost, primaryPort);
    List<Node> rest = new java.util.ArrayList<>(others.stream().filter(n -> !n.equals(primary)).toList());
    rest.add(new Node(host, port));
    String note = "the primary " + primary + " (standing in: " + why + ")";
    return new StreamTarget(addonId, appName, primaryHost, primaryPort, primaryHost, primaryPort, rest, user, password,
        note, note);
  }

  /** A stream of the primary itself, for tools and tests that run a stream without a window. */
  public StreamTarget(String addonId, String host, int port, String user, String password, String reason) {
    this(addonId, addonId, host, port, host, port, List.of(), user, password, reason, null);
  }

  /** {@code backstop_<first 20 hex of sha256(addonId)>}: valid slot characters, stable per addon, ≤ 63. */
  public String slotName() {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(addonId.getBytes(StandardCharsets.UTF_8));
      return "backstop_" + HexFormat.of().formatHex(digest).substring(0, 20);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  String url() {
    return "jdbc:postgresql://" + host + ":" + port + "/postgres";
  }

  String primaryUrl() {
    return "jdbc:postgresql://" + primaryHost + ":" + primaryPort + "/postgres";
  }

  Properties properties(boolean replication) {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("ApplicationName", "backstop-wal-archiver");
    p.setProperty("connectTimeout", "10");
    if (replication) {
      p.setProperty("replication", "true");
      p.setProperty("preferQueryMode", "simple");
      p.setProperty("assumeMinServerVersion", "10");
    }
    return p;
  }

  @Override
  public String toString() {
    return "StreamTarget[" + addonId + " " + host + ":" + port + " (" + reason + ")]";
  }
}
