package dev.backstop.worker.catalog;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.addon.KnownAddons;
import org.springframework.stereotype.Component;

/**
 * What the worker knows of each addon (collection {@code addons}): service-kit's one {@link
 * dev.backstop.kit.addon.Addon} shape, kept from {@code backstop.addons} by revision; the password stays
 * sealed, opened only for the duration of a dump.
 */
@Component
public class AddonCatalog extends KnownAddons {

  public AddonCatalog(MongoDatabase database) {
    super(database, "addons");
  }
}
