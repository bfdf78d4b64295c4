package dev.backstop.gateway.auth;

import dev.backstop.gateway.config.GatewayProperties;
import dev.backstop.gateway.web.ApiProblem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** Operator endpoints ({@code /v1/addons/**}) need the operator's bearer token. */
@Configuration
public class OperatorAuthInterceptor implements HandlerInterceptor, WebMvcConfigurer {

  private final byte[] expected;

  public OperatorAuthInterceptor(GatewayProperties properties) {
    this.expected = ("Bearer " + properties.getOperatorToken()).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void addInterceptors(InterceptorRegistry registry) {
    registry.addInterceptor(this).addPathPatterns("/v1/addons", "/v1/addons/**");
  }

  @Override
  public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
    String header = request.getHeader("Authorization");
    if (header == null || !MessageDigest.isEqual(expected, header.getBytes(StandardCharsets.UTF_8))) {
      throw ApiProblem.unauthorized("operator endpoints need 'Authorization: Bearer <operator token>'");
    }
    return true;
  }
}
