package dev.backstop.gateway.web;

import java.net.URI;
import java.util.stream.Collectors;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The framework's own problem bodies, but saying which field is wrong and why: its default detail
 * for a failed validation is only "Invalid request content.".
 */
@RestControllerAdvice
public class ProblemAdvice extends ResponseEntityExceptionHandler {

  @Override
  protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex, HttpHeaders headers,
      HttpStatusCode status, WebRequest request) {
    String detail = ex.getBindingResult().getFieldErrors().stream()
        .map(e -> e.getField() + " " + e.getDefaultMessage() + " (got " + e.getRejectedValue() + ")")
        .collect(Collectors.joining("; "));
    ex.getBody().setDetail(detail.isEmpty() ? "the request body is not valid" : detail);
    ex.getBody().setType(URI.create("https://backstop.dev/problems/invalid-request"));
    ex.getBody().setTitle("Invalid request");
    return handleExceptionInternal(ex, null, headers, status, request);
  }

  @Override
  protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException ex,
      HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    String detail = ex.getParameterValidationResults().stream()
        .flatMap(r -> r.getResolvableErrors().stream().map(e -> r.getMethodParameter().getParameterName() + " " + e.getDefaultMessage()))
        .collect(Collectors.joining("; "));
    ex.getBody().setDetail(detail.isEmpty() ? "the request is not valid" : detail);
    ex.getBody().setType(URI.create("https://backstop.dev/problems/invalid-request"));
    ex.getBody().setTitle("Invalid request");
    return handleExceptionInternal(ex, null, headers, status, request);
  }
}
