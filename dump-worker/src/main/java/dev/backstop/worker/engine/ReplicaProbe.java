package dev.backstop.worker.engine;

import java.time.Duration;

/** Asks a secondary how it is doing, with the addon's own credentials, before a dump is planned on it. */
public interface ReplicaProbe {

  /** What a secondary said: replicating or not, and how far behind its primary. */
  record ReplicaState(boolean replicating, Duration lag, String problem) {

    public static ReplicaState ok(Duration lag) {
      return new ReplicaState(true, lag, null);
    }

    public static ReplicaState broken(String problem) {
      return new ReplicaState(false, null, problem);
    }
  }

  /** Never throws: an unreachable node is a state like any other. */
  ReplicaState probe(DumpTarget node);
}
