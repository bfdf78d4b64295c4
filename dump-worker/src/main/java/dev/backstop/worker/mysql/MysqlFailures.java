package dev.backstop.worker.mysql;

import dev.backstop.worker.engine.FailureClassifier;
import java.util.List;

/** How MySQL's and MariaDB's clients ({@code mysqldump}, {@code mysql}) say a failure passes. */
public final class MysqlFailures {

  /** The classifier of the clients' {@code Got error: NNNN: …} messages. */
  public static final FailureClassifier CLASSIFIER = FailureClassifier.bySubstrings(
      List.of("can't connect to", "connection refused", "lost connection to", "too many connections",
          "server has gone away", "server shutdown in progress", "deadlock found", "lock wait timeout exceeded",
          "no route to host", "network is unreachable", dev.backstop.worker.engine.ExternalCommand.STOPPED_ANSWERING),
      List.of("access denied", "unknown database", "no space left on device", "errcode: 28", "unknown option"));

  private MysqlFailures() {}
}
