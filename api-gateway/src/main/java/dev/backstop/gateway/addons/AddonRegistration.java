package dev.backstop.gateway.addons;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.util.List;

/**
 * What an operator sends to put an addon under Backstop's care, or to change it. The connection
 * settings follow {@link dev.backstop.kit.addon.ConnectionValues}, so that none can be read as an
 * option by the tools it reaches.
 */
public record AddonRegistration(
    @NotBlank @Pattern(regexp = "[a-z0-9][a-z0-9-]{0,62}", message = "must be lower-case letters, digits and '-'") String appName,
    @NotBlank @Pattern(regexp = "(?i)postgresql|mysql", message = "must be postgresql or mysql") String engine,
    @NotBlank @Pattern(regexp = "(?i)sandbox|starter|business", message = "must be sandbox, starter or business") String plan,
    @ConnectionValue(ConnectionValue.Kind.DATABASE) String database,
    @ConnectionValue(ConnectionValue.Kind.USER) String user,
    @ConnectionValue(ConnectionValue.Kind.PASSWORD) String password,
    @NotEmpty @Size(max = 16) List<@NotNull @Valid Node> nodes,
    @Valid Schedule schedule) {

  /** A database server of the addon. */
  public record Node(
      @NotBlank @Pattern(regexp = "(?i)primary|secondary", message = "must be primary or secondary") String role,
      @ConnectionValue(ConnectionValue.Kind.HOST) String host,
      @NotNull @Min(1) @Max(65535) Integer port) {}

  /** The daily backup time; absent means the default, 01:00 Europe/Paris. */
  public record Schedule(Boolean enabled, @Min(0) @Max(23) Integer hour, @Size(max = 64) String timezone) {}

  @Override
  public String toString() {
    return "AddonRegistration[appName=" + appName + ", engine=" + engine + ", plan=" + plan + ", database=" + database
        + ", user=" + user + ", password=<hidden>, nodes=" + nodes + ", schedule=" + schedule + "]";
  }
}
