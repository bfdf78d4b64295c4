package dev.backstop.notifier.endpoints;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The notifier's own copy of the apps' webhook endpoints, and their failure runs. */
public interface Endpoints {

  /** Stores a registered endpoint; false if it is already known (a replay or a redelivery). */
  boolean register(Endpoint endpoint);

  /** The endpoint will never be delivered to again. */
  void markRemoved(String endpointId);

  /** The endpoint is disabled, unless it was removed. */
  void markDisabled(String endpointId);

  Optional<Endpoint> find(String endpointId);

  /** The app's active endpoints. */
  List<Endpoint> activeOf(String appName);

  /** Ends a failure run. */
  void recordSuccess(String endpointId);

  /** Counts one more failure in a row (starting the run at {@code at}); the endpoint as it is afterwards. */
  Optional<Endpoint> recordFailure(String endpointId, Instant at, String error);

  /** Active to disabled, once; false if another attempt (or instance) did it first, or it is not active. */
  boolean disable(String endpointId);
}
