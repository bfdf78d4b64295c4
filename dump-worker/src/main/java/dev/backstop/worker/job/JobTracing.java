package dev.backstop.worker.job;

import java.util.Map;

/**
 * Carries a request's trace across the job ledger: the consumer thread that records a job is in the
 * trace of the request it read (its Kafka headers), the runner thread that runs it later is not. The
 * ledger keeps the trace the recording thread was in, and the runner makes it the job thread's again,
 * so that every line the job logs and every event it publishes belong to the trace of its request.
 *
 * <p>A job recorded from a replayed request keeps the trace it was first recorded in.
 */
public interface JobTracing {

  /**
   * The trace the calling thread is in, as the headers that propagate it (W3C {@code traceparent} by
   * default, B3 if so configured), or an empty map outside any.
   */
  Map<String, String> current();

  /**
   * Makes the thread part of the trace {@code carrier} propagates (as {@link #current} returned it;
   * empty: a new trace) under a new span named {@code name}, until the scope is closed.
   */
  Scope open(String name, Map<String, String> carrier);

  /** A span made current by {@link #open}; closing it ends the span. */
  interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /** No tracing: nothing recorded, nothing opened. */
  JobTracing NONE = new JobTracing() {
    @Override
    public Map<String, String> current() {
      return Map.of();
    }

    @Override
    public Scope open(String name, Map<String, String> carrier) {
      return () -> { };
    }
  };
}
