package dev.backstop.worker.config;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** Binds a settings record the way Spring does at startup, so that its defaults stay written only on the record. */
final class Settings {

  private Settings() {}

  static <T> T bind(String prefix, Map<String, ?> settings, Class<T> type) {
    Map<String, Object> prefixed = new LinkedHashMap<>();
    settings.forEach((key, value) -> prefixed.put(prefix + "." + key, value));
    return new Binder(new MapConfigurationPropertySource(prefixed)).bindOrCreate(prefix, Bindable.of(type));
  }
}
