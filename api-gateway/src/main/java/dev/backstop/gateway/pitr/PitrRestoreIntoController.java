package dev.backstop.gateway.pitr;

import dev.backstop.gateway.addons.ConnectionValue;
import dev.backstop.gateway.pitr.PitrRestoreController.RestoreView;
import dev.backstop.gateway.web.ApiProblem;
import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.schemas.events.RestoreTarget;
import dev.backstop.schemas.secret.SecretSealer;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.net.URI;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Operators' point-in-time restores (issue #17): the same restore as an app's, whose result is then also
 * {@code pg_restore}d into an existing, empty database the operator names. Under {@code /v1/addons/**},
 * so only the operator's token passes ({@code OperatorAuthInterceptor}): an app's token cannot make
 * Backstop connect to a host of its choosing. The target's settings follow the operator API's rules for
 * every value that reaches a tool ({@link ConnectionValue}); its password travels sealed with the addon id
 * as associated data, as addon passwords do, and is never shown back.
 */
@RestController
@RequestMapping("/v1/addons/{addonId}/pitr/restores")
public class PitrRestoreIntoController {

  private final KnownAddons addons;
  private final PitrRestoreController restores;
  private final SecretSealer sealer;

  public PitrRestoreIntoController(KnownAddons addons, PitrRestoreController restores, SecretSealer sealer) {
    this.addons = addons;
    this.restores = restores;
    this.sealer = sealer;
  }

  /** The database to restore into: it must exist and be empty; {@code user} restores into it (and owns what it creates). */
  public record Target(
      @ConnectionValue(ConnectionValue.Kind.HOST) String host,
      @NotNull @Min(1) @Max(65535) Integer port,
      @ConnectionValue(ConnectionValue.Kind.DATABASE) String database,
      @ConnectionValue(ConnectionValue.Kind.USER) String user,
      @ConnectionValue(ConnectionValue.Kind.PASSWORD) String password) {

    @Override
    public String toString() {
      return "Target[" + user + "@" + host + ":" + port + "/" + database + ", password=<hidden>]";
    }
  }

  /** {@code targetTime} as for an app's restore; {@code target}: where the result is restored. */
  public record RestoreIntoRequest(@Size(max = 64) String targetTime, @NotNull @Valid Target target) {}

  @PostMapping
  public ResponseEntity<RestoreView> create(@PathVariable String addonId, @RequestBody @Valid RestoreIntoRequest body) {
    Addon addon = requireAddon(addonId);
    Target t = body.target();
    RestoreTarget into = new RestoreTarget(t.host(), t.port(), t.database(), t.user(), sealer.seal(addonId, t.password()));
    RestoreView view = restores.request(addon, body.targetTime(), into);
    return ResponseEntity.accepted()
        .location(URI.create("/v1/addons/" + addonId + "/pitr/restores/" + view.id()))
        .body(view);
  }

  @GetMapping("/{restoreId}")
  public RestoreView one(@PathVariable String addonId, @PathVariable String restoreId) {
    requireAddon(addonId);
    return restores.find(addonId, restoreId);
  }

  private Addon requireAddon(String addonId) {
    return addons.find(addonId).orElseThrow(() -> ApiProblem.notFound("no addon " + addonId));
  }
}
