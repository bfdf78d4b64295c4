package dev.backstop.kit.webhook;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which URLs a webhook may be delivered to. Applied twice: where a URL enters ({@link #check(String)}:
 * its shape, and its host when that is an address or a name for this machine), and before every
 * delivery to the addresses its host resolves to at that moment ({@link #checkAddress(InetAddress)}),
 * so that a name that resolved to a public address when registered and to {@code 127.0.0.1} later
 * (DNS rebinding) still reaches nothing inside.
 */
public final class WebhookUrlPolicy {

  /** Longest URL accepted, in characters. */
  public static final int MAX_LENGTH = 2048;

  private static final Pattern HOST_NAME =
      Pattern.compile("(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\\.?");

  private final boolean allowHttp;
  private final boolean allowPrivateAddresses;

  public WebhookUrlPolicy(boolean allowHttp, boolean allowPrivateAddresses) {
    this.allowHttp = allowHttp;
    this.allowPrivateAddresses = allowPrivateAddresses;
  }

  /** A URL refused, and why, in words for the API's user (never quoting more than the URL's host). */
  public static final class RefusedUrl extends Exception {
    public RefusedUrl(String reason) {
      super(reason);
    }
  }

  /** The URL, parsed, if its shape and host are acceptable. */
  public URI check(String url) throws RefusedUrl {
    if (url == null || url.isBlank()) {
      throw new RefusedUrl("url is required");
    }
    if (url.length() > MAX_LENGTH) {
      throw new RefusedUrl("url must be at most " + MAX_LENGTH + " characters");
    }
    if (!url.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new RefusedUrl("url must be ASCII without spaces or control characters (percent-encode the rest)");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new RefusedUrl("url is not a valid URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !(allowHttp && scheme.equals("http"))) {
      throw new RefusedUrl(allowHttp ? "url must be http or https" : "url must be https");
    }
    if (uri.getRawUserInfo() != null) {
      throw new RefusedUrl("url must not hold a user name or password");
    }
    if (uri.getRawFragment() != null) {
      throw new RefusedUrl("url must not have a fragment");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new RefusedUrl("url must name a host");
    }
    if (uri.getPort() == 0 || uri.getPort() > 65535) {
      throw new RefusedUrl("url has an invalid port");
    }
    if (!allowPrivateAddresses) {
      String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
      String lower = bare.toLowerCase(Locale.ROOT);
      if (lower.equals("localhost") || lower.endsWith(".localhost") || lower.equals("localhost.")
          || lower.endsWith(".localhost.") || lower.endsWith(".internal") || lower.endsWith(".local")) {
        throw new RefusedUrl("url must not point to " + host + ": only public addresses are allowed");
      }
      if (isAddressLiteral(bare)) {
        InetAddress address = literal(bare);
        if (!isPublic(address)) {
          throw new RefusedUrl("url must not point to " + host + ": only public addresses are allowed");
        }
      } else if (!HOST_NAME.matcher(bare).matches() || bare.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
        // all digits and dots but not a dotted quad (e.g. 2130706433, 0x7f.1): forms some resolvers read as loopback
        throw new RefusedUrl("url has an invalid host name");
      }
    } else if (!isAddressLiteral(host.startsWith("[") ? host.substring(1, host.length() - 1) : host)
        && !HOST_NAME.matcher(host).matches()) {
      throw new RefusedUrl("url has an invalid host name");
    }
    return uri;
  }

  /** Refuses an address a delivery must not connect to, as its host resolved just before connecting. */
  public void checkAddress(InetAddress address) throws RefusedUrl {
    if (!allowPrivateAddresses && !isPublic(address)) {
      throw new RefusedUrl("address " + address.getHostAddress() + " is not public: delivery refused");
    }
  }

  /** False for loopback, link-local, private, shared, unique-local, multicast, unspecified and reserved addresses. */
  public static boolean isPublic(InetAddress address) {
    if (address.isLoopbackAddress() || address.isLinkLocalAddress() || address.isSiteLocalAddress()
        || address.isAnyLocalAddress() || address.isMulticastAddress()) {
      return false;
    }
    byte[] b = address.getAddress();
    if (address instanceof Inet6Address) {
      // fc00::/7 unique local; ::ffff:a.b.c.d and the 6to4/NAT64 forms carry an IPv4 address: judge that one
      if ((b[0] & 0xfe) == 0xfc) {
        return false;
      }
      boolean mapped = true;
      for (int i = 0; i < 10; i++) {
        mapped &= b[i] == 0;
      }
      if (mapped && ((b[10] == (byte) 0xff && b[11] == (byte) 0xff) || (b[10] == 0 && b[11] == 0))) {
        return isPublic(ipv4(b[12], b[13], b[14], b[15]));
      }
      if ((b[0] == 0x20 && b[1] == 0x02)) {
        return isPublic(ipv4(b[2], b[3], b[4], b[5]));
      }
      if (b[0] == 0x00 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b) {
        return isPublic(ipv4(b[12], b[13], b[14], b[15]));
      }
      return true;
    }
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    return first != 0 // 0.0.0.0/8
        && !(first == 100 && second >= 64 && second < 128) // 100.64/10, carrier-grade NAT
        && !(first == 192 && second == 0 && (b[2] & 0xff) == 0) // 192.0.0/24, protocol assignments
        && !(first == 198 && (second == 18 || second == 19)) // benchmarking
        && first < 240; // reserved and broadcast
  }

  private static boolean isAddressLiteral(String host) {
    return host.contains(":") || host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  private static InetAddress literal(String host) throws RefusedUrl {
    if (!host.contains(":")) {
      byte[] octets = new byte[4];
      String[] parts = host.split("\\.");
      for (int i = 0; i < 4; i++) {
        int value = Integer.parseInt(parts[i]);
        if (value > 255) {
          throw new RefusedUrl("url has an invalid host address");
        }
        octets[i] = (byte) value;
      }
      return ipv4(octets[0], octets[1], octets[2], octets[3]);
    }
    try {
      // a literal: no lookup happens
      return InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new RefusedUrl("url has an invalid host address");
    }
  }

  private static InetAddress ipv4(byte a, byte b, byte c, byte d) {
    try {
      return Inet4Address.getByAddress(new byte[] {a, b, c, d});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
