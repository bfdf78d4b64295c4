package dev.backstop.gateway.auth;

import dev.backstop.gateway.web.ApiProblem;
import java.net.URI;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/** Operator endpoints that issue and revoke an app's API tokens. */
@RestController
public class TokenController {

  private final AppTokens tokens;

  public TokenController(AppTokens tokens) {
    this.tokens = tokens;
  }

  /** The token as issued: shown this once. */
  public record TokenView(String id, String app, String token) {}

  @PostMapping("/v1/operator/apps/{appName}/tokens")
  public ResponseEntity<TokenView> issue(@PathVariable String appName) {
    if (!appName.matches("[a-z0-9][a-z0-9-]{0,62}")) {
      throw ApiProblem.badRequest("app names are lower-case letters, digits and '-'");
    }
    var issued = tokens.issue(appName);
    return ResponseEntity.created(URI.create("/v1/operator/apps/" + appName + "/tokens/" + issued.id()))
        .body(new TokenView(issued.id(), appName, issued.token()));
  }

  @DeleteMapping("/v1/operator/apps/{appName}/tokens/{tokenId}")
  public ResponseEntity<Void> revoke(@PathVariable String appName, @PathVariable String tokenId) {
    if (!tokens.revoke(appName, tokenId)) {
      throw ApiProblem.notFound("no live token " + tokenId + " for app " + appName);
    }
    return ResponseEntity.noContent().build();
  }
}
