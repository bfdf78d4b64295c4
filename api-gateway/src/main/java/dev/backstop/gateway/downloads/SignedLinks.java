package dev.backstop.gateway.downloads;

import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.gateway.config.GatewayProperties;
import dev.backstop.kit.config.BackstopProperties;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.springframework.stereotype.Component;

/**
 * Download links that need no token: {@code /v1/downloads/<payload>.<signature>}, the payload naming the
 * app, addon, backup, expiry and the token the link was asked for with, signed with HMAC-SHA256 under a
 * key derived from the secrets key. Only the canonical spelling of a link is accepted (unpadded
 * base64url, as issued): another spelling of the same bytes is not the link that was handed out.
 * Whether the token is still live and the addon still there is the caller's check ({@link Target}).
 */
@Component
public class SignedLinks {

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

  private final SecretKeySpec key;
  private final Clock clock;
  private final Duration ttl;

  public SignedLinks(BackstopProperties properties, GatewayProperties gateway, Clock clock) {
    this.clock = clock;
    this.ttl = gateway.linkTtl();
    try {
      // a key of its own, so that a link signature says nothing about the key sealing passwords
      Mac derive = Mac.getInstance("HmacSHA256");
      derive.init(new SecretKeySpec(Base64.getDecoder().decode(properties.secrets().key().trim()), "HmacSHA256"));
      this.key = new SecretKeySpec(derive.doFinal("backstop download links".getBytes(StandardCharsets.UTF_8)), "HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A signed link and when it stops working. */
  public record Link(String url, String expiresAt) {}

  /** What a valid link points at, and the id of the token it was asked for with. */
  public record Target(String app, String addonId, String backupId, String tokenId) {}

  public Link sign(String app, String addonId, String backupId, String tokenId) {
    Instant expires = clock.instant().plus(ttl);
    String payload = B64.encodeToString(String.join("\n", app, addonId, backupId, Long.toString(expires.getEpochSecond()), tokenId)
        .getBytes(StandardCharsets.UTF_8));
    return new Link("/v1/downloads/" + payload + "." + B64.encodeToString(mac(payload)), expires.toString());
  }

  public Target verify(String link) {
    int dot = link.indexOf('.');
    if (dot < 0) {
      throw ApiProblem.notFound("no such download link");
    }
    String payload = link.substring(0, dot);
    // the signature as issued, compared as text: a decoder would also take padding, the other
    // alphabet or different unused bits for the same bytes
    byte[] expected = B64.encodeToString(mac(payload)).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, link.substring(dot + 1).getBytes(StandardCharsets.US_ASCII))) {
      throw ApiProblem.notFound("no such download link");
    }
    String[] parts = new String(UNB64.decode(payload), StandardCharsets.UTF_8).split("\n", -1);
    if (parts.length != 5) {
      // a link of an older format, without the token it depends on
      throw ApiProblem.notFound("no such download link");
    }
    if (Instant.ofEpochSecond(Long.parseLong(parts[3])).isBefore(clock.instant())) {
      throw ApiProblem.gone("this download link has expired: ask for a new one");
    }
    return new Target(parts[0], parts[1], parts[2], parts[4]);
  }

  private byte[] mac(String payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(payload.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

}
