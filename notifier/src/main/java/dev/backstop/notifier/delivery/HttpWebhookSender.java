package dev.backstop.notifier.delivery;

import dev.backstop.kit.webhook.WebhookUrlPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.apache.hc.client5.http.ConnectTimeoutException;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.SystemDefaultDnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.util.Timeout;

/**
 * {@link WebhookSender} over Apache HttpClient, chosen for its {@link DnsResolver} hook: the host is
 * resolved once, every address it resolves to is checked against the {@link WebhookUrlPolicy}, and the
 * connection is made to exactly those addresses, so a name cannot pass the check with one address and
 * connect to another. No proxy, no redirects followed (a 3xx is a failed attempt), no automatic retries
 * (the schedule retries), no cookies; connect and read timeouts, and a hard cut-off per attempt.
 */
public final class HttpWebhookSender implements WebhookSender, AutoCloseable {

  private final WebhookUrlPolicy policy;
  private final int maxResponseBytes;
  private final Duration attemptTimeout;
  private final CloseableHttpClient client;
  private final ScheduledExecutorService cutoffs =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("webhook-cutoff").daemon().factory());

  public HttpWebhookSender(WebhookUrlPolicy policy, Duration connectTimeout, Duration readTimeout, Duration attemptTimeout,
      int maxResponseBytes, int maxConnections) {
    this(policy, connectTimeout, readTimeout, attemptTimeout, maxResponseBytes, maxConnections, SystemDefaultDnsResolver.INSTANCE);
  }

  /** With {@code dns} as the name service whose answers are checked (tests stand in a rebinding one). */
  HttpWebhookSender(WebhookUrlPolicy policy, Duration connectTimeout, Duration readTimeout, Duration attemptTimeout,
      int maxResponseBytes, int maxConnections, DnsResolver dns) {
    this.policy = policy;
    this.maxResponseBytes = maxResponseBytes;
    this.attemptTimeout = attemptTimeout;
    DnsResolver checked = new DnsResolver() {
      @Override
      public InetAddress[] resolve(String host) throws UnknownHostException {
        InetAddress[] addresses = dns.resolve(host);
        for (InetAddress address : addresses) {
          try {
            policy.checkAddress(address);
          } catch (WebhookUrlPolicy.RefusedUrl e) {
            throw new RefusedAddress(e.getMessage());
          }
        }
        return addresses;
      }

      @Override
      public String resolveCanonicalHostname(String host) throws UnknownHostException {
        return dns.resolveCanonicalHostname(host);
      }
    };
    PoolingHttpClientConnectionManager connections = PoolingHttpClientConnectionManagerBuilder.create()
        .setDnsResolver(checked)
        .setDefaultConnectionConfig(ConnectionConfig.custom()
            .setConnectTimeout(Timeout.of(connectTimeout))
            .setSocketTimeout(Timeout.of(readTimeout))
            // a pooled connection was checked when opened; DNS may have changed since: reopen after a minute
            .setTimeToLive(Timeout.ofMinutes(1))
            .build())
        .setMaxConnTotal(maxConnections)
        .setMaxConnPerRoute(2)
        .build();
    this.client = HttpClients.custom()
        .setConnectionManager(connections)
        .setDefaultRequestConfig(RequestConfig.custom()
            .setResponseTimeout(Timeout.of(readTimeout))
            .setConnectionRequestTimeout(Timeout.of(connectTimeout))
            .setRedirectsEnabled(false)
            .build())
        .disableRedirectHandling()
        .disableAutomaticRetries()
        .disableCookieManagement()
        .disableAuthCaching()
        .setUserAgent("Backstop-Webhooks/1")
        .build();
  }

  /** Thrown by the resolver for an address the policy refuses; a subclass, so the client gives up at once. */
  private static final class RefusedAddress extends UnknownHostException {
    RefusedAddress(String message) {
      super(message);
    }
  }

  @Override
  public Result post(String url, Map<String, String> headers, String body) {
    try {
      policy.check(url);
    } catch (WebhookUrlPolicy.RefusedUrl e) {
      return new Result(null, e.getMessage());
    }
    HttpPost post = new HttpPost(url);
    headers.forEach(post::setHeader);
    post.setEntity(new StringEntity(body, ContentType.APPLICATION_JSON.withCharset(StandardCharsets.UTF_8)));
    ScheduledFuture<?> cutoff = cutoffs.schedule(post::cancel, attemptTimeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      return client.execute(post, response -> {
        if (response.getEntity() != null) {
          try (InputStream in = response.getEntity().getContent()) {
            // read a bounded part and drop it: only the status counts, and a body is never logged
            in.readNBytes(maxResponseBytes);
          }
        }
        int status = response.getCode();
        return new Result(status, status >= 200 && status < 300 ? null : "HTTP " + status);
      });
    } catch (RefusedAddress e) {
      return new Result(null, e.getMessage());
    } catch (UnknownHostException e) {
      return new Result(null, "host not found");
    } catch (ConnectTimeoutException e) {
      return new Result(null, "connect timed out");
    } catch (java.net.ConnectException e) {
      return new Result(null, "connection refused");
    } catch (SSLException e) {
      return new Result(null, "TLS handshake failed");
    } catch (InterruptedIOException e) {
      return new Result(null, post.isCancelled() ? "no answer within " + attemptTimeout.toSeconds() + " s" : "read timed out");
    } catch (IOException e) {
      return new Result(null, post.isCancelled() ? "no answer within " + attemptTimeout.toSeconds() + " s"
          : "connection failed (" + e.getClass().getSimpleName() + ")");
    } finally {
      cutoff.cancel(false);
    }
  }

  @Override
  public void close() throws IOException {
    cutoffs.shutdownNow();
    client.close();
  }
}
