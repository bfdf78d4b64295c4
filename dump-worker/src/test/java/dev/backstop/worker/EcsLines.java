package dev.backstop.worker;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.logging.logback.StructuredLogEncoder;
import org.springframework.core.env.Environment;
import org.springframework.core.env.StandardEnvironment;

/** Log lines as a deployment's console writes them ({@code logging.structured.format.console=ecs}). */
public final class EcsLines {

  private final StructuredLogEncoder encoder = new StructuredLogEncoder();

  public EcsLines() {
    LoggerContext context = new LoggerContext();
    context.putObject(Environment.class.getName(), new StandardEnvironment());
    encoder.setContext(context);
    encoder.setFormat("ecs");
    encoder.start();
  }

  /** The line as one JSON object. */
  public String encode(ILoggingEvent line) {
    return new String(encoder.encode(line), StandardCharsets.UTF_8);
  }
}
