package dev.backstop.worker.dump;

/** One database on one node, with the credentials to read it. {@link #toString()} hides the password. */
public record DumpTarget(String host, int port, String database, String user, String password) {

  @Override
  public String toString() {
    return user + "@" + host + ":" + port + "/" + database;
  }
}
