package dev.backstop.gateway.addons;

import dev.backstop.kit.addon.Addon;
import dev.backstop.kit.addon.KnownAddons;
import dev.backstop.gateway.web.ApiProblem;
import jakarta.validation.Valid;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** Operator endpoints to register, change and remove addons, and the app's view of its addons. */
@RestController
public class AddonController {

  private final AddonRegistry registry;
  private final KnownAddons catalog;

  public AddonController(AddonRegistry registry, KnownAddons catalog) {
    this.registry = registry;
    this.catalog = catalog;
  }

  /** The addon as the API shows it: no credentials. */
  public record AddonView(String id, String appName, String engine, String plan, String database, String status,
      List<NodeView> nodes, RegisteredSchedule schedule) {

    static AddonView of(Addon a) {
      return new AddonView(a.id(), a.appName(), lower(a.engine()), lower(a.plan()),
          a.database(), a.removed() ? "removed" : "running",
          a.nodes().stream().map(n -> new NodeView(lower(n.role()), n.host(), n.port())).toList(),
          new RegisteredSchedule(a.schedule().enabled(), a.schedule().at().hour(), a.schedule().at().zone().getId()));
    }

    private static String lower(Enum<?> value) {
      return value.name().toLowerCase(Locale.ROOT);
    }
  }

  /** A database server of the addon. */
  public record NodeView(String role, String host, int port) {}

  /** The daily backup time, as registered. */
  public record RegisteredSchedule(boolean enabled, int hour, String timezone) {}

  @PutMapping("/v1/addons/{addonId}")
  public ResponseEntity<AddonView> register(@PathVariable String addonId, @Valid @RequestBody AddonRegistration registration) {
    boolean created = registry.register(addonId, registration);
    AddonView view = AddonView.of(catalog.find(addonId).orElseThrow());
    return created
        ? ResponseEntity.created(URI.create("/v1/apps/" + view.appName() + "/addons/" + addonId)).body(view)
        : ResponseEntity.ok(view);
  }

  @DeleteMapping("/v1/addons/{addonId}")
  public ResponseEntity<Void> remove(@PathVariable String addonId) {
    registry.remove(addonId);
    return ResponseEntity.noContent().build();
  }

  @GetMapping("/v1/apps/{appName}/addons")
  public List<AddonView> ofApp(@PathVariable String appName) {
    List<Addon> addons = catalog.ofApp(appName);
    if (addons.isEmpty()) {
      throw ApiProblem.notFound("no app " + appName);
    }
    return addons.stream().map(AddonView::of).toList();
  }

  @GetMapping("/v1/apps/{appName}/addons/{addonId}")
  public AddonView one(@PathVariable String appName, @PathVariable String addonId) {
    return catalog.findForApp(appName, addonId).map(AddonView::of)
        .orElseThrow(() -> ApiProblem.notFound("no addon " + addonId + " in app " + appName));
  }
}
