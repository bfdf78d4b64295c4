package dev.backstop.embedded;

import dev.backstop.testing.LocalMariadb;
import dev.backstop.testing.LocalPostgres;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The restore verifier's scratch servers in these tests: the suite's own PostgreSQL and MariaDB (those of
 * {@link LocalPostgres} and {@link LocalMariadb}), never its defaults, the machine's 5432 and 3306.
 */
final class ScratchServers {

  private ScratchServers() {}

  /** As {@code backstop.verifier.*} settings, for {@link BackstopEmbedded.Options#extraProperties()}. */
  static Map<String, String> properties() {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("backstop.verifier.postgresql.host", LocalPostgres.HOST);
    settings.put("backstop.verifier.postgresql.port", Integer.toString(LocalPostgres.PORT));
    settings.put("backstop.verifier.postgresql.user", LocalPostgres.USER);
    settings.put("backstop.verifier.mysql.host", LocalMariadb.HOST);
    settings.put("backstop.verifier.mysql.port", Integer.toString(LocalMariadb.PORT));
    settings.put("backstop.verifier.mysql.user", LocalMariadb.USER);
    // the suite's servers hold the tests' own databases too
    settings.put("backstop.verifier.allow-shared-server", "true");
    return settings;
  }

  /** The same as environment variables, for a service started from its jar. */
  static Map<String, String> environment() {
    Map<String, String> variables = new LinkedHashMap<>();
    properties().forEach((name, value) ->
        variables.put(name.replace("-", "").replace('.', '_').toUpperCase(Locale.ROOT), value));
    return variables;
  }

  /** {@code settings} with the scratch servers' added. */
  static Map<String, String> with(Map<String, String> settings) {
    Map<String, String> all = new LinkedHashMap<>(properties());
    all.putAll(settings);
    return all;
  }
}
