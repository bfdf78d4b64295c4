package dev.backstop.gateway.web;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RequestMapping;

/**
 * The servlet container's error page ({@code /error}), for errors that happen outside Spring MVC's
 * exception handling (a filter, {@code sendError}): a problem document like every other error,
 * instead of Spring Boot's {@code {"timestamp":…}} or its HTML page. It says nothing of the cause,
 * which may name internals.
 */
@Controller
public class ProblemErrorController implements ErrorController {

  private static final MediaType PROBLEM = MediaType.APPLICATION_PROBLEM_JSON;

  @RequestMapping("${server.error.path:${error.path:/error}}")
  public ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
    Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
    HttpStatus status = code instanceof Integer i && HttpStatus.resolve(i) != null ? HttpStatus.valueOf(i) : HttpStatus.NOT_FOUND;
    if (status.value() < 400) {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
    }
    ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, status.is5xxServerError()
        ? "the server could not answer this request" : detail(status));
    problem.setType(URI.create("https://backstop.dev/problems/"
        + (status.is5xxServerError() ? "server-error" : status == HttpStatus.NOT_FOUND ? "not-found" : "invalid-request")));
    problem.setTitle(status.getReasonPhrase());
    return ResponseEntity.status(status).contentType(PROBLEM).body(problem);
  }

  private static String detail(HttpStatus status) {
    return switch (status) {
      case NOT_FOUND -> "nothing here";
      case METHOD_NOT_ALLOWED -> "this method is not allowed here";
      case UNAUTHORIZED -> "this endpoint needs 'Authorization: Bearer <token>'";
      default -> "the request was refused (" + status.getReasonPhrase() + ")";
    };
  }
}
