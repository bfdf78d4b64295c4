package dev.backstop.kit.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WebhookSignatureTest {

  @Test
  void signs_the_standard_webhooks_reference_vector_exactly() {
    // the vector the Standard Webhooks reference libraries test against: theirs accept what ours signs
    String signature = WebhookSignature.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330L, "{\"test\": 2432232314}");

    assertThat(signature).isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  }

  @Test
  void a_new_secret_is_whsec_and_32_random_bytes_in_base64() {
    String secret = WebhookSignature.newSecret();

    assertThat(secret).startsWith("whsec_");
    assertThat(java.util.Base64.getDecoder().decode(secret.substring(6))).hasSize(32);
    assertThat(WebhookSignature.newSecret()).isNotEqualTo(secret);
  }

  @Test
  void the_readmes_example_delivery_is_signed_as_it_says() throws Exception {
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("..", "README.md"));
    String example = readme.substring(readme.indexOf("delivery, signed with the secret"));
    java.util.function.Function<String, String> after = prefix -> {
      int at = example.indexOf(prefix) + prefix.length();
      return example.substring(at, example.indexOf('\n', at)).trim();
    };
    String secret = after.apply("signed with the secret `").replace("`:", "");
    String body = example.substring(example.indexOf("\n\n{") + 2, example.indexOf("\n```", example.indexOf("\n\n{")));

    assertThat(WebhookSignature.sign(secret, after.apply("webhook-id:"), Long.parseLong(after.apply("webhook-timestamp:")), body))
        .isEqualTo(after.apply("webhook-signature:"));
  }
}
