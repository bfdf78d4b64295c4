package dev.backstop.gateway.web;

import dev.backstop.kit.addon.ConnectionValues;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonToken;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.PropertyBindingException;

/**
 * The framework's own problem bodies, but saying which field is wrong and why: its default detail
 * for a failed validation is only "Invalid request content.", and for a body it cannot read only
 * "Failed to read request". Details name the field by its path ({@code nodes[0].port}) and never
 * quote a secret: a rejected password, token or key is not echoed, nor is a value holding control
 * characters, and no parser message (which may quote the body) is passed on.
 */
@RestControllerAdvice
public class ProblemAdvice extends ResponseEntityExceptionHandler {

  private static final URI INVALID = URI.create("https://backstop.dev/problems/invalid-request");
  private static final Pattern DUPLICATE = Pattern.compile("Duplicate Object property \"([^\"]{0,64})\"");
  private static final int MAX_ECHO = 64;

  @Override
  protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex, HttpHeaders headers,
      HttpStatusCode status, WebRequest request) {
    String detail = ex.getBindingResult().getFieldErrors().stream()
        .map(e -> e.getField() + " " + e.getDefaultMessage() + echo(e))
        .sorted()
        .collect(Collectors.joining("; "));
    invalid(ex.getBody(), detail.isEmpty() ? "the request body is not valid" : detail);
    return handleExceptionInternal(ex, null, headers, status, request);
  }

  @Override
  protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException ex,
      HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    String detail = ex.getParameterValidationResults().stream()
        .flatMap(r -> r.getResolvableErrors().stream().map(e -> r.getMethodParameter().getParameterName() + " " + e.getDefaultMessage()))
        .collect(Collectors.joining("; "));
    invalid(ex.getBody(), detail.isEmpty() ? "the request is not valid" : detail);
    return handleExceptionInternal(ex, null, headers, status, request);
  }

  @Override
  protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex, HttpHeaders headers,
      HttpStatusCode status, WebRequest request) {
    ProblemDetail body = ProblemDetail.forStatus(HttpStatus.BAD_REQUEST);
    invalid(body, unreadable(ex));
    return handleExceptionInternal(ex, body, headers, HttpStatus.BAD_REQUEST, request);
  }

  private static void invalid(ProblemDetail body, String detail) {
    body.setDetail(detail);
    body.setType(INVALID);
    body.setTitle("Invalid request");
  }

  /** What was wrong with a body that could not be read, by field path; never the parser's own words. */
  static String unreadable(HttpMessageNotReadableException ex) {
    JacksonException json = null;
    for (Throwable t = ex.getCause(); t != null && json == null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof JacksonException j) {
        json = j;
      }
    }
    if (json == null) {
      String message = ex.getMessage() == null ? "" : ex.getMessage();
      return message.startsWith("Required request body is missing")
          ? "a JSON body is required" : "the request body could not be read as JSON";
    }
    String path = path(json.getPath());
    String original = json.getOriginalMessage() == null ? "" : json.getOriginalMessage();
    if (original.startsWith("Trailing token")) {
      return "the body is not valid JSON: something follows the document";
    }
    if (json instanceof PropertyBindingException unknown) {
      return join(path.isEmpty() ? unknown.getPropertyName() : path, "unknown field");
    }
    if (json instanceof InvalidFormatException format) {
      return join(path, "expected " + expected(format.getTargetType()) + ", got " + describe(format.getValue()));
    }
    if (json instanceof MismatchedInputException mismatch) {
      String got = got(mismatch.getCurrentToken());
      return join(path, "expected " + expected(mismatch.getTargetType()) + (got == null ? "" : ", got " + got));
    }
    if (json instanceof InputCoercionException) {
      return join(path, "number out of range");
    }
    Matcher duplicate = DUPLICATE.matcher(original);
    if (duplicate.find()) {
      return join(path.isEmpty() ? duplicate.group(1) : path + "." + duplicate.group(1), "duplicate field");
    }
    if (json instanceof StreamReadException read && read.getLocation() != null) {
      return join(path, "the body is not valid JSON (line " + read.getLocation().getLineNr() + ", column "
          + read.getLocation().getColumnNr() + ")");
    }
    return join(path, "the body could not be read as JSON");
  }

  private static String join(String path, String message) {
    return path == null || path.isEmpty() ? message : path + ": " + message;
  }

  static String path(List<JacksonException.Reference> references) {
    StringBuilder out = new StringBuilder();
    for (JacksonException.Reference r : references) {
      if (r.getPropertyName() != null) {
        out.append(out.isEmpty() ? "" : ".").append(r.getPropertyName());
      } else if (r.getIndex() >= 0) {
        out.append('[').append(r.getIndex()).append(']');
      }
    }
    return out.toString();
  }

  private static String expected(Class<?> type) {
    if (type == null) {
      return "another type";
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class || type == Short.class
        || type == short.class) {
      return "an integer";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
      return "a number";
    }
    if (CharSequence.class.isAssignableFrom(type)) {
      return "a string";
    }
    if (java.util.Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "an array";
    }
    return "an object";
  }

  private static String describe(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof CharSequence) {
      return "a string";
    }
    if (value instanceof Boolean) {
      return "a boolean";
    }
    if (value instanceof Integer || value instanceof Long || value instanceof java.math.BigInteger || value instanceof Short) {
      return "an integer";
    }
    if (value instanceof Number) {
      return "a decimal number";
    }
    return "a value of another type";
  }

  private static String got(JsonToken token) {
    if (token == null) {
      return null;
    }
    return switch (token) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT -> "an integer";
      case VALUE_NUMBER_FLOAT -> "a decimal number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> null;
    };
  }

  private static final Set<String> SECRET_WORDS = Set.of("password", "secret", "token", "key", "credential");

  /** The rejected value, quoted, unless it may be a secret or could mislead a terminal. */
  static String echo(FieldError error) {
    Object value = error.getRejectedValue();
    if (value == null || isSecret(error.getField())) {
      return "";
    }
    String text = value.toString();
    if (text.length() > MAX_ECHO || ConnectionValues.hasControl(text) || !(value instanceof CharSequence || value instanceof Number)) {
      return "";
    }
    return " (got " + text + ")";
  }

  static boolean isSecret(String field) {
    String lower = field.toLowerCase(Locale.ROOT);
    return SECRET_WORDS.stream().anyMatch(lower::contains);
  }
}
