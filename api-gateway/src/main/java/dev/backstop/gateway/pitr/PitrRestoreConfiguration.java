package dev.backstop.gateway.pitr;

import dev.backstop.schemas.events.PitrWindowChanged;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** {@code backstop.pitr-events} into the windows restore requests are checked against. */
@Configuration
public class PitrRestoreConfiguration {

  @Bean
  public Consumer<SpecificRecord> pitrRestoreWindowEvents(PitrRestoreWindows windows) {
    return event -> {
      if (event instanceof PitrWindowChanged changed) {
        windows.apply(changed);
      }
    };
  }
}
