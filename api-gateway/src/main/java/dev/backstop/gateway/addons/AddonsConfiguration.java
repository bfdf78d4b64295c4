package dev.backstop.gateway.addons;

import com.mongodb.client.MongoDatabase;
import dev.backstop.kit.addon.KnownAddons;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The gateway's copy of addons (never the password in clear), and the revisions it allocates. */
@Configuration
public class AddonsConfiguration {

  @Bean
  public KnownAddons knownAddons(MongoDatabase database) {
    return new KnownAddons(database, "addons");
  }

  @Bean
  public AddonRevisions addonRevisions(MongoDatabase database) {
    return new AddonRevisions(database);
  }
}
