package dev.backstop.gateway.auth;

import static com.mongodb.client.model.Filters.eq;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Date;
import java.util.HexFormat;
import java.util.Optional;
import org.bson.Document;
import org.springframework.stereotype.Component;

/**
 * Per-app API tokens. A token is shown once, when issued; only its SHA-256 is stored, so a leaked
 * database holds no usable token. A token's id (the first 12 hex digits of its hash) names it for
 * revocation.
 */
@Component
public class AppTokens {

  private static final SecureRandom RANDOM = new SecureRandom();

  private final MongoCollection<Document> tokens;
  private final Clock clock;

  public AppTokens(MongoDatabase database, Clock clock) {
    this.tokens = database.getCollection("tokens");
    this.clock = clock;
  }

  /** A newly issued token: its id, and the secret, which is never stored. */
  public record Issued(String id, String token) {}

  public Issued issue(String appName) {
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String token = "bst_" + HexFormat.of().formatHex(secret);
    String hash = hash(token);
    String id = hash.substring(0, 12);
    tokens.insertOne(new Document("_id", hash).append("id", id).append("app", appName)
        .append("createdAt", Date.from(clock.instant())));
    return new Issued(id, token);
  }

  /** A live token: its id and its app. */
  public record Live(String id, String app) {}

  /** The app a live token belongs to. */
  public Optional<String> appOf(String token) {
    return live(token).map(Live::app);
  }

  /** The token, if it is live. */
  public Optional<Live> live(String token) {
    Document d = tokens.find(eq("_id", hash(token))).first();
    return d == null || d.get("revokedAt") != null ? Optional.empty() : Optional.of(new Live(d.getString("id"), d.getString("app")));
  }

  /** True while the app has a live token of this id (what a signed link made with it depends on). */
  public boolean isLive(String appName, String id) {
    for (Document d : tokens.find(eq("id", id))) {
      if (appName.equals(d.getString("app")) && d.get("revokedAt") == null) {
        return true;
      }
    }
    return false;
  }

  /** Revokes the app's token {@code id}; false if it has no such live token. */
  public boolean revoke(String appName, String id) {
    for (Document d : tokens.find(eq("id", id))) {
      if (appName.equals(d.getString("app")) && d.get("revokedAt") == null) {
        tokens.updateOne(eq("_id", d.getString("_id")), Updates.set("revokedAt", Date.from(clock.instant())));
        return true;
      }
    }
    return false;
  }

  static String hash(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
