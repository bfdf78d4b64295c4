package dev.backstop.gateway.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * What every request passes before authentication and dispatch:
 *
 * <ul>
 *   <li>A CORS preflight is refused with a 403 problem and no {@code Access-Control-Allow-*} header:
 *       the API grants no cross-origin access (the dashboard is served from the same origin), so there
 *       is nothing to authenticate and nothing to grant.</li>
 *   <li>A path with a {@code ;} is refused: Tomcat and Spring would otherwise strip the path parameter
 *       and serve {@code /v1/addons/a;b} as {@code /v1/addons/a}, so that what the caller wrote and what
 *       was acted on differ.</li>
 *   <li>A request body is read into memory up to {@link #MAX_BODY} and refused with 413 beyond it, so
 *       that no endpoint parses a body of any size (the API's bodies are a few hundred bytes).</li>
 * </ul>
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class RequestGuard extends OncePerRequestFilter {

  /** The largest request body the API reads. */
  public static final int MAX_BODY = 64 * 1024;

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if ("OPTIONS".equals(request.getMethod()) && request.getHeader("Origin") != null
        && request.getHeader("Access-Control-Request-Method") != null) {
      ProblemJson.write(response, 403, "cross-origin-refused", "Cross-origin request refused",
          "the API grants no cross-origin (CORS) access: call it from a server or the CLI, or use the dashboard on this origin");
      return;
    }
    if (request.getRequestURI().indexOf(';') >= 0) {
      ProblemJson.write(response, 400, "invalid-path", "Invalid path",
          "path parameters (';') are not allowed in the path");
      return;
    }
    long declared = request.getContentLengthLong();
    if (declared > MAX_BODY) {
      tooLarge(response);
      return;
    }
    if (declared == 0 || (declared < 0 && request.getHeader("Transfer-Encoding") == null)) {
      chain.doFilter(request, response);
      return;
    }
    byte[] body;
    try (InputStream in = request.getInputStream()) {
      body = in.readNBytes(MAX_BODY + 1);
    }
    if (body.length > MAX_BODY) {
      tooLarge(response);
      return;
    }
    chain.doFilter(new BufferedBody(request, body), response);
  }

  private static void tooLarge(HttpServletResponse response) throws IOException {
    // the rest of the body is not read: the connection is closed rather than drained
    response.setHeader("Connection", "close");
    ProblemJson.write(response, 413, "body-too-large", "Request body too large",
        "the request body is larger than " + MAX_BODY / 1024 + " KiB");
  }

  /** The request with its body already read. */
  private static final class BufferedBody extends HttpServletRequestWrapper {
    private final byte[] body;

    BufferedBody(HttpServletRequest request, byte[] body) {
      super(request);
      this.body = body;
    }

    @Override
    public int getContentLength() {
      return body.length;
    }

    @Override
    public long getContentLengthLong() {
      return body.length;
    }

    @Override
    public ServletInputStream getInputStream() {
      ByteArrayInputStream in = new ByteArrayInputStream(body);
      return new ServletInputStream() {
        @Override
        public int read() {
          return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
          return in.read(b, off, len);
        }

        @Override
        public boolean isFinished() {
          return in.available() == 0;
        }

        @Override
        public boolean isReady() {
          return true;
        }

        @Override
        public void setReadListener(ReadListener listener) {
          throw new UnsupportedOperationException("the body is already read");
        }
      };
    }

    @Override
    public BufferedReader getReader() {
      String encoding = getCharacterEncoding();
      Charset charset = StandardCharsets.UTF_8;
      try {
        charset = encoding == null ? charset : Charset.forName(encoding);
      } catch (IllegalArgumentException e) {
        // an unknown charset in Content-Type: read as UTF-8, which the JSON reader expects anyway
      }
      return new BufferedReader(new InputStreamReader(getInputStream(), charset));
    }
  }
}
