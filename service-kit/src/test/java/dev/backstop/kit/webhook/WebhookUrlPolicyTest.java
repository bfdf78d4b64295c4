package dev.backstop.kit.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WebhookUrlPolicyTest {

  private final WebhookUrlPolicy strict = new WebhookUrlPolicy(false, false);
  private final WebhookUrlPolicy forTests = new WebhookUrlPolicy(true, true);

  @ParameterizedTest
  @ValueSource(strings = {"https://hooks.example.com/backstop", "https://hooks.example.com:8443/a?b=c", "https://8.8.8.8/x",
      "https://[2001:4860:4860::8888]/x", "https://EXAMPLE.com./x"})
  void public_https_urls_are_accepted(String url) throws Exception {
    assertThat(strict.check(url).toString()).isEqualTo(url);
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://hooks.example.com/x", "ftp://hooks.example.com/x", "https://127.0.0.1/x", "https://127.1.2.3/x",
      "https://10.1.2.3/x", "https://172.16.0.1/x", "https://192.168.0.1/x", "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/x", "https://0.0.0.0/x", "https://[::1]/x", "https://[::]/x", "https://[fe80::1]/x", "https://[fd00::1]/x",
      "https://[::ffff:127.0.0.1]/x", "https://[::ffff:169.254.169.254]/x", "https://[2002:7f00:1::]/x", "https://localhost/x",
      "https://api.localhost/x", "https://metadata.google.internal/x", "https://2130706433/x", "https://0x7f.1/x",
      "https://999.1.1.1/x", "https://u:p@hooks.example.com/x", "https://hooks.example.com/x#frag", "https:///x", "https://",
      "https://exa mple.com/", "https://hooks.example.com/\u00e9", "", " "})
  void loopback_private_link_local_and_malformed_urls_are_refused(String url) {
    assertThatThrownBy(() -> strict.check(url)).isInstanceOf(WebhookUrlPolicy.RefusedUrl.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "10.0.0.8", "169.254.169.254", "::1", "fd12::1", "::ffff:192.168.1.1", "100.100.1.1", "240.0.0.1"})
  void resolved_addresses_inside_are_refused_at_delivery(String address) throws Exception {
    InetAddress resolved = InetAddress.getByName(address);
    assertThatThrownBy(() -> strict.checkAddress(resolved)).isInstanceOf(WebhookUrlPolicy.RefusedUrl.class)
        .hasMessageContaining("not public");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://127.0.0.1:8080/hook", "http://localhost:9000/x"})
  void tests_may_allow_plain_http_and_private_addresses(String url) throws Exception {
    assertThat(forTests.check(url).toString()).isEqualTo(url);
    forTests.checkAddress(InetAddress.getLoopbackAddress());
  }
}
