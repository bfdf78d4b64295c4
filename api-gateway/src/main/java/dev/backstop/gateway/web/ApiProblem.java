package dev.backstop.gateway.web;

import java.net.URI;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** An error answered as an RFC 9457 problem body; the detail is written for the API's user. */
public class ApiProblem extends ErrorResponseException {

  private ApiProblem(HttpStatus status, String type, String title, String detail) {
    super(status, problem(status, type, title, detail), null);
  }

  private static ProblemDetail problem(HttpStatus status, String type, String title, String detail) {
    ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
    problem.setType(URI.create("https://backstop.dev/problems/" + type));
    problem.setTitle(title);
    return problem;
  }

  public static ApiProblem notFound(String detail) {
    return new ApiProblem(HttpStatus.NOT_FOUND, "not-found", "Not found", detail);
  }

  public static ApiProblem badRequest(String detail) {
    return new ApiProblem(HttpStatus.BAD_REQUEST, "invalid-request", "Invalid request", detail);
  }

  public static ApiProblem conflict(String type, String title, String detail) {
    return new ApiProblem(HttpStatus.CONFLICT, type, title, detail);
  }

  /** 422: the request is well formed, but what it asks for cannot be done (a restore outside the recoverable window). */
  public static ApiProblem unprocessable(String type, String title, String detail) {
    return new ApiProblem(HttpStatus.UNPROCESSABLE_CONTENT, type, title, detail);
  }

  /** Adds a member to the problem body (e.g. the window a refused instant lies outside of). */
  public ApiProblem with(String name, Object value) {
    getBody().setProperty(name, value);
    return this;
  }

  public static ApiProblem unauthorized(String detail) {
    return new ApiProblem(HttpStatus.UNAUTHORIZED, "unauthorized", "Unauthorized", detail);
  }

  public static ApiProblem gone(String detail) {
    return new ApiProblem(HttpStatus.GONE, "gone", "Gone", detail);
  }

  /** A 416 with the {@code Content-Range: bytes *}{@code /<size>} that RFC 9110 asks of it, so a client learns the size. */
  public static ApiProblem rangeNotSatisfiable(String detail, long size) {
    ApiProblem problem = new ApiProblem(HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range-not-satisfiable",
        "Range not satisfiable", detail);
    problem.getHeaders().set(HttpHeaders.CONTENT_RANGE, "bytes */" + size);
    problem.getHeaders().set(HttpHeaders.ACCEPT_RANGES, "bytes");
    return problem;
  }
}
