package dev.backstop.worker.postgres;

import dev.backstop.worker.engine.ExternalCommand;
import dev.backstop.worker.engine.FailureClassifier;
import java.util.List;

/** How PostgreSQL's tools ({@code pg_dump}, {@code pg_restore}, {@code psql}, libpq) say a failure passes. */
public final class PostgresFailures {

  /** The classifier of libpq's and the server's messages. */
  public static final FailureClassifier CLASSIFIER = FailureClassifier.bySubstrings(
      List.of("could not connect to server", "connection refused", "server closed the connection unexpectedly",
          "canceling statement due to conflict with recovery", "terminating connection due to administrator command",
          "terminating connection due to conflict with recovery", "the database system is starting up",
          "the database system is shutting down", "the database system is in recovery mode",
          "the database system is not yet accepting connections", "sorry, too many clients already",
          "remaining connection slots are reserved", "timeout expired", "could not receive data from server",
          "no route to host", "network is unreachable", "temporary failure in name resolution",
          ExternalCommand.STOPPED_ANSWERING),
      List.of("password authentication failed", "no pg_hba.conf entry", "does not exist", "no space left on device",
          "permission denied"));

  private PostgresFailures() {}
}
