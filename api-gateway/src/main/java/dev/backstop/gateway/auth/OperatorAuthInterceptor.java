package dev.backstop.gateway.auth;

import dev.backstop.gateway.config.GatewayProperties;
import dev.backstop.gateway.web.ApiProblem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Who may call what. Operator endpoints ({@code /v1/addons/**}, {@code /v1/operator/**}) need the
 * operator's token. An app's endpoints ({@code /v1/apps/{app}/**}) need a token of that app (or the
 * operator's); a token of another app gets 404, exactly as if nothing were there, so that a token
 * reveals nothing of other apps.
 */
@Configuration
public class OperatorAuthInterceptor implements WebMvcConfigurer {

  private final byte[] operator;
  private final AppTokens tokens;

  public OperatorAuthInterceptor(GatewayProperties properties, AppTokens tokens) {
    this.operator = ("Bearer " + properties.getOperatorToken()).getBytes(StandardCharsets.UTF_8);
    this.tokens = tokens;
  }

  @Override
  public void addInterceptors(InterceptorRegistry registry) {
    registry.addInterceptor(new HandlerInterceptor() {
      @Override
      public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!isOperator(request)) {
          throw ApiProblem.unauthorized("operator endpoints need 'Authorization: Bearer <operator token>'");
        }
        return true;
      }
    }).addPathPatterns("/v1/addons", "/v1/addons/**", "/v1/operator/**");

    registry.addInterceptor(new HandlerInterceptor() {
      @Override
      public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (isOperator(request)) {
          return true;
        }
        String header = request.getHeader("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
          throw ApiProblem.unauthorized("this endpoint needs 'Authorization: Bearer <app token>' (BACKSTOP_TOKEN for the CLI)");
        }
        var app = tokens.appOf(header.substring("Bearer ".length()).trim())
            .orElseThrow(() -> ApiProblem.unauthorized("unknown or revoked token"));
        @SuppressWarnings("unchecked")
        var variables = (Map<String, String>) request.getAttribute(HandlerMapping.URI_TEMPLATE_VARIABLES_ATTRIBUTE);
        String asked = variables == null ? null : variables.get("appName");
        if (!app.equals(asked)) {
          throw ApiProblem.notFound("no app " + asked);
        }
        return true;
      }
    }).addPathPatterns("/v1/apps/**");
  }

  private boolean isOperator(HttpServletRequest request) {
    String header = request.getHeader("Authorization");
    return header != null && MessageDigest.isEqual(operator, header.getBytes(StandardCharsets.UTF_8));
  }
}
