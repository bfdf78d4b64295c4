package dev.backstop.gateway.web;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import org.apache.catalina.Container;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;

/**
 * Tomcat's own error responses as problem documents. Tomcat refuses some requests before any servlet
 * sees them (an encoded {@code /} or a NUL in the path, a malformed request line) and reports them
 * through its host's error report valve, which writes an HTML page; this replaces that valve. It runs
 * after Spring Boot's own customizer, which installs a plain {@link ErrorReportValve}.
 */
@Component
public class ProblemErrorReport implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }

  @Override
  public void customize(TomcatServletWebServerFactory factory) {
    factory.addContextCustomizers(context -> {
      Container host = context.getParent();
      if (host instanceof StandardHost standard) {
        standard.setErrorReportValveClass(ProblemValve.class.getName());
      }
      for (org.apache.catalina.Valve valve : host.getPipeline().getValves()) {
        if (valve instanceof ErrorReportValve && !(valve instanceof ProblemValve)) {
          host.getPipeline().removeValve(valve);
        }
      }
      host.getPipeline().addValve(new ProblemValve());
    });
  }

  /** Reports an error Tomcat answers itself as a problem document with a fixed text. */
  public static class ProblemValve extends ErrorReportValve {

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
      int status = response.getStatus();
      if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
        return;
      }
      String detail = switch (status) {
        case 400 -> "the request is malformed: an encoded '/', '\\' or NUL in its path, a character not allowed in a URL,"
            + " or a request line or headers too large";
        case 404 -> "nothing here";
        case 405 -> "this method is not allowed here";
        case 413 -> "the request is too large";
        case 414 -> "the request's URL is too long";
        case 431 -> "the request's headers are too large";
        case 505 -> "this HTTP version is not supported";
        default -> status >= 500 ? "the server could not answer this request" : "the request was refused";
      };
      try {
        response.setContentType(ProblemJson.MEDIA_TYPE);
        response.setCharacterEncoding(StandardCharsets.UTF_8.name());
        Writer writer = response.getReporter();
        if (writer != null) {
          writer.write(ProblemJson.document(status, status >= 500 ? "server-error" : "invalid-request",
              status >= 500 ? "Server error" : "Invalid request", detail));
          response.finishResponse();
        }
      } catch (IOException | IllegalStateException e) {
        // the client is gone or the response is committed: nothing more can be said
      }
    }
  }
}
