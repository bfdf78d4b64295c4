package dev.backstop.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The gateway's REST API as the CLI uses it; an error answer becomes an {@link ApiException} with its detail. */
final class Api {

  /** What the gateway said went wrong (the problem document's detail), or why it could not be reached. */
  static final class ApiException extends Exception {
    final int status;

    ApiException(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  private final String baseUrl;
  private final String token;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  final JsonMapper json = JsonMapper.builder().build();

  static final String DEFAULT_URL = "http://127.0.0.1:8080";

  Api(String baseUrl, String token) throws ApiException {
    this.baseUrl = baseUrl(baseUrl);
    this.token = token;
  }

  /**
   * The API's root as the paths are appended to it: {@code http(s)://host[:port][/prefix]}, without a
   * trailing {@code /} or {@code /v1} (every path starts with {@code /v1}, so a URL copied with it is meant
   * without it). Anything else is refused here with what to write, rather than failing later as a bad URI.
   */
  static String baseUrl(String url) throws ApiException {
    String trimmed = url.strip();
    if (!trimmed.matches("(?i)https?://.*")) {
      throw new ApiException(0, "BACKSTOP_API_URL must start with http:// or https:// and name a host, e.g. "
          + DEFAULT_URL + " (got '" + trimmed + "')");
    }
    URI uri;
    try {
      uri = new URI(trimmed);
    } catch (java.net.URISyntaxException e) {
      throw new ApiException(0, "BACKSTOP_API_URL is not a URL (" + e.getReason() + "): write it as http://host:port");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
      throw new ApiException(0, "BACKSTOP_API_URL must start with http:// or https:// and name a host, e.g. "
          + DEFAULT_URL + " (got '" + trimmed + "')");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
      throw new ApiException(0, "BACKSTOP_API_URL must be http(s)://host[:port][/path], without credentials, query or fragment");
    }
    String base = trimmed.replaceAll("/+$", "");
    if (base.endsWith("/v1")) {
      base = base.substring(0, base.length() - 3).replaceAll("/+$", "");
    }
    return base;
  }

  static String path(String... segments) {
    StringBuilder path = new StringBuilder();
    for (String segment : segments) {
      path.append('/').append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return path.toString();
  }

  JsonNode get(String path) throws ApiException {
    return send(request(path).GET().build());
  }

  /** A backup as the gateway showed it, with the ETag naming that view (null from a gateway that names none). */
  record Tagged(JsonNode body, String etag) {}

  Tagged getTagged(String path) throws ApiException {
    return tagged(request(path).GET().build());
  }

  /**
   * A long poll: the resource once it differs from the view {@code etag} names, or null when it has not
   * changed within {@code wait} (whole seconds, 1 to 55, as the gateway takes them).
   */
  Tagged awaitChange(String path, String etag, Duration wait) throws ApiException {
    long seconds = Math.clamp(wait.toSeconds(), 1, 55);
    HttpRequest request = request(path + "?wait=" + seconds).header("If-None-Match", etag).GET().build();
    return tagged(request);
  }

  private Tagged tagged(HttpRequest request) throws ApiException {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 304) {
        return null;
      }
      if (response.statusCode() >= 400) {
        throw problem(response.statusCode(), response.body());
      }
      return new Tagged(json.readTree(response.body()), response.headers().firstValue("ETag").orElse(null));
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, "interrupted");
    }
  }

  JsonNode post(String path) throws ApiException {
    return send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build());
  }

  JsonNode post(String path, Object body) throws ApiException {
    return send(request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body))).build());
  }

  JsonNode delete(String path) throws ApiException {
    return send(request(path).DELETE().build());
  }

  JsonNode put(String path, Object body) throws ApiException {
    return send(request(path).header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body))).build());
  }

  /** Opens a download, from {@code offset} when it is above 0; the caller closes the body. */
  HttpResponse<InputStream> download(String path, long offset) throws ApiException {
    HttpRequest.Builder builder = request(path).GET();
    if (offset > 0) {
      builder.header("Range", "bytes=" + offset + "-");
    }
    try {
      HttpResponse<InputStream> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
      if (response.statusCode() >= 400) {
        try (InputStream body = response.body()) {
          throw problem(response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      return response;
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, "interrupted");
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(5));
    if (token != null && !token.isBlank()) {
      builder.header("Authorization", "Bearer " + token);
    }
    return builder;
  }

  private JsonNode send(HttpRequest request) throws ApiException {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() >= 400) {
        throw problem(response.statusCode(), response.body());
      }
      return response.body().isEmpty() ? json.createObjectNode() : json.readTree(response.body());
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException(0, "interrupted");
    }
  }

  private ApiException problem(int status, String body) {
    try {
      JsonNode problem = json.readTree(body);
      if (problem.hasNonNull("detail")) {
        return new ApiException(status, problem.get("detail").asString());
      }
    } catch (RuntimeException notJson) {
      // fall through to the status line
    }
    return new ApiException(status, "the Backstop API answered " + status);
  }

  private ApiException unreachable(IOException e) {
    return new ApiException(0, "cannot reach the Backstop API at " + baseUrl + ": " + why(e) + "; set BACKSTOP_API_URL");
  }

  /** Why a connection failed, in words: the JDK's exceptions often carry no message at all. */
  private String why(IOException e) {
    String host = URI.create(baseUrl).getHost();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.nio.channels.UnresolvedAddressException || t instanceof java.net.UnknownHostException) {
        return "unknown host " + host;
      }
      if (t instanceof java.net.http.HttpConnectTimeoutException) {
        return "no answer from " + host + " within 10 s";
      }
      if (t instanceof java.net.http.HttpTimeoutException) {
        return "no answer within 5 minutes";
      }
      if (t instanceof javax.net.ssl.SSLException) {
        return "TLS failed (" + t.getMessage() + ")";
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException) {
        // the JDK's client says nothing more: the name resolved and the connection did not time out, so it was refused
        return t.getMessage() == null || t.getMessage().isBlank() || t.getMessage().equalsIgnoreCase("connection refused")
            ? "connection refused (is Backstop running there?)" : t.getMessage();
      }
    }
    return e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
  }
}
