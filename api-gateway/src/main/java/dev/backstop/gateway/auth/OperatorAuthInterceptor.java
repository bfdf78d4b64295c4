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

  /**
   * The request attribute naming the token that authenticated the call: the app token's id, or
   * {@link #operatorTokenId} for the operator's, so that what the call creates (a signed link) can be
   * tied to that token and die with it.
   */
  public static final String CALLER_TOKEN = OperatorAuthInterceptor.class.getName() + ".callerToken";

  private final byte[] operator;
  private final String operatorTokenId;
  private final AppTokens tokens;

  public OperatorAuthInterceptor(GatewayProperties properties, AppTokens tokens) {
    this.operator = ("Bearer " + properties.operatorToken()).getBytes(StandardCharsets.UTF_8);
    // changes when the operator token is replaced, which ends the links made with the old one
    this.operatorTokenId = "operator-" + AppTokens.hash(properties.operatorToken()).substring(0, 12);
    this.tokens = tokens;
  }

  /** The id of the operator token in force. */
  public String operatorTokenId() {
    return operatorTokenId;
  }

  @Override
  public void addInterceptors(InterceptorRegistry registry) {
    registry.addInterceptor(new HandlerInterceptor() {
      @Override
      public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!isOperator(request)) {
          throw ApiProblem.unauthorized("operator endpoints need 'Authorization: Bearer <operator token>'");
        }
        request.setAttribute(CALLER_TOKEN, operatorTokenId);
        return true;
      }
    }).addPathPatterns("/v1/addons", "/v1/addons/**", "/v1/operator/**");

    registry.addInterceptor(new HandlerInterceptor() {
      @Override
      public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (isOperator(request)) {
          request.setAttribute(CALLER_TOKEN, operatorTokenId);
          return true;
        }
        String header = request.getHeader("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
          throw ApiProblem.unauthorized("this endpoint needs 'Authorization: Bearer <app token>' (BACKSTOP_TOKEN for the CLI)");
        }
        var live = tokens.live(header.substring("Bearer ".length()).trim())
            .orElseThrow(() -> ApiProblem.unauthorized("unknown or revoked token"));
        String app = live.app();
        @SuppressWarnings("unchecked")
        var variables = (Map<String, String>) request.getAttribute(HandlerMapping.URI_TEMPLATE_VARIABLES_ATTRIBUTE);
        String asked = variables == null ? null : variables.get("appName");
        if (!app.equals(asked)) {
          throw ApiProblem.notFound("no app " + asked);
        }
        request.setAttribute(CALLER_TOKEN, live.id());
        return true;
      }
    }).addPathPatterns("/v1/apps/**");
  }

  private boolean isOperator(HttpServletRequest request) {
    String header = request.getHeader("Authorization");
    return header != null && MessageDigest.isEqual(operator, header.getBytes(StandardCharsets.UTF_8));
  }
}
