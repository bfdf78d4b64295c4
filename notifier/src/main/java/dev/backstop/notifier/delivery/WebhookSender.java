package dev.backstop.notifier.delivery;

import java.util.Map;

/**
 * Sends one webhook request: a POST of {@code body} with {@code headers} to {@code url}, under the URL
 * policy (checked again on the addresses the host resolves to now), with short timeouts, no redirects
 * followed and at most a bounded part of the answer read.
 */
public interface WebhookSender {

  /** How an attempt ended: the answer's status, or null with the reason none came (or it was not allowed). */
  record Result(Integer httpStatus, String error) {
    public boolean delivered() {
      return httpStatus != null && httpStatus >= 200 && httpStatus < 300;
    }
  }

  /** Never throws for what the endpoint or the network does: that is a {@link Result}. */
  Result post(String url, Map<String, String> headers, String body);
}
