package dev.backstop.gateway.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * The API's path variables, checked by name on every endpoint before a controller runs: an id is used
 * as a document key, a Kafka key and a file name, so it is refused (400, naming the variable) unless
 * it has the shape ids are given, instead of being looked up or stored as it came. Runs after
 * authentication, so that an unauthenticated caller learns nothing but 401.
 */
@Configuration
public class PathVariableRules implements WebMvcConfigurer {

  /** A rule: the shape, and the sentence saying it. */
  private record Rule(Pattern pattern, String message) {}

  private static final Map<String, Rule> RULES = Map.of(
      "appName", new Rule(Pattern.compile("[a-z0-9][a-z0-9-]{0,62}"), "must be 1 to 63 lower-case letters, digits and '-'"),
      "addonId", new Rule(Pattern.compile("[A-Za-z0-9_-]{1,64}"), "must be 1 to 64 letters, digits, '_' or '-'"),
      "backupId", new Rule(Pattern.compile("[A-Za-z0-9_-]{1,64}"), "must be 1 to 64 letters, digits, '_' or '-'"),
      "webhookId", new Rule(Pattern.compile("wh_[0-9a-f]{1,40}"), "must be wh_ and lower-case hexadecimal digits"),
      "tokenId", new Rule(Pattern.compile("[0-9a-f]{1,64}"), "must be lower-case hexadecimal digits"),
      "link", new Rule(Pattern.compile("[A-Za-z0-9_-]{1,2048}\\.[A-Za-z0-9_-]{1,128}"), "is not a download link"));

  @Override
  public void addInterceptors(InterceptorRegistry registry) {
    registry.addInterceptor(new HandlerInterceptor() {
      @Override
      public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        @SuppressWarnings("unchecked")
        var variables = (Map<String, String>) request.getAttribute(HandlerMapping.URI_TEMPLATE_VARIABLES_ATTRIBUTE);
        if (variables != null) {
          variables.forEach((name, value) -> {
            Rule rule = RULES.get(name);
            if (rule != null && !rule.pattern().matcher(value).matches()) {
              throw ApiProblem.badRequest(name + " " + rule.message());
            }
          });
        }
        return true;
      }
    }).addPathPatterns("/v1/**").order(10);
  }
}
