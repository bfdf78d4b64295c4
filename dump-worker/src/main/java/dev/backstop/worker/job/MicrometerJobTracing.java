package dev.backstop.worker.job;

import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link JobTracing} on Micrometer Tracing: the trace travels as the headers the propagator writes
 * (those Kafka records carry), and the tracer's scope puts {@code traceId} and
 * {@code spanId} in the thread's MDC, hence in every log line of the job.
 */
public final class MicrometerJobTracing implements JobTracing {

  private final Tracer tracer;
  private final Propagator propagator;

  public MicrometerJobTracing(Tracer tracer, Propagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
  }

  @Override
  public Map<String, String> current() {
    Span span = tracer.currentSpan();
    if (span == null) {
      return Map.of();
    }
    Map<String, String> carrier = new HashMap<>();
    propagator.inject(span.context(), carrier, Map::put);
    return carrier;
  }

  @Override
  public Scope open(String name, Map<String, String> carrier) {
    // extract of an empty carrier (or one this propagator cannot read) starts a new trace
    Span span = propagator.extract(carrier, Map::get).name(name).start();
    Tracer.SpanInScope scope = tracer.withSpan(span);
    return () -> {
      scope.close();
      span.end();
    };
  }
}
