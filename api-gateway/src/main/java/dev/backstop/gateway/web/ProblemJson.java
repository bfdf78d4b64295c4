package dev.backstop.gateway.web;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes an RFC 9457 problem document where Spring MVC's exception handling does not reach: servlet
 * filters that refuse a request before it is dispatched, and Tomcat's own error reports. The texts are
 * the gateway's own, never the request's bytes.
 */
public final class ProblemJson {

  public static final String MEDIA_TYPE = "application/problem+json";

  private ProblemJson() {}

  /** The document for {@code status}: {@code type} is a slug under https://backstop.dev/problems/. */
  public static String document(int status, String type, String title, String detail) {
    return "{\"type\":\"https://backstop.dev/problems/" + escape(type) + "\",\"title\":\"" + escape(title)
        + "\",\"status\":" + status + ",\"detail\":\"" + escape(detail) + "\"}";
  }

  /** Answers {@code response} with the problem, replacing anything buffered but keeping headers already set. */
  public static void write(HttpServletResponse response, int status, String type, String title, String detail)
      throws IOException {
    byte[] body = document(status, type, title, detail).getBytes(StandardCharsets.UTF_8);
    response.resetBuffer();
    response.setStatus(status);
    response.setContentType(MEDIA_TYPE);
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
    response.flushBuffer();
  }

  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029 || c == 0x7f) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }
}
