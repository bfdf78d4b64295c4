package dev.backstop.gateway.dashboard;

import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.ViewControllerRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * The customer dashboard: static files under {@code static/dashboard/} that call the same REST API
 * with the customer's token. The page runs only its own script and style, so the browser is told to
 * refuse anything else (an injected script, a framing page).
 */
@Configuration
public class DashboardConfiguration implements WebMvcConfigurer {

  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  @Override
  public void addViewControllers(ViewControllerRegistry registry) {
    registry.addRedirectViewController("/dashboard", "/dashboard/index.html");
    registry.addRedirectViewController("/dashboard/", "/dashboard/index.html");
  }

  @Bean
  public FilterRegistrationBean<Filter> dashboardHeaders() {
    FilterRegistrationBean<Filter> registration = new FilterRegistrationBean<>((request, response, chain) -> {
      HttpServletResponse http = (HttpServletResponse) response;
      http.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      http.setHeader("X-Content-Type-Options", "nosniff");
      http.setHeader("Referrer-Policy", "no-referrer");
      chain.doFilter(request, response);
    });
    registration.addUrlPatterns("/dashboard", "/dashboard/*");
    return registration;
  }
}
