package dev.backstop.worker.engine;

import java.io.IOException;

/**
 * The standard inputs of several restore clients, fed by one loader thread that splits a dump between them:
 * what the loader gives each client is gathered into batches before it is queued ({@link QueuedInput}),
 * since a queue hand-off per row costs more CPU (futex wake-ups) than the client reading it.
 *
 * <p>A client that exits before the end of its input (it failed, or quit) gives up the load: the loader's
 * next wait for room throws {@link ClientGone}.
 */
public final class ClientFeeds {

  /** A client gone before the end of its input. */
  public static final class ClientGone extends IOException {
    ClientGone() {
      super("a restore client exited before the end of its input");
    }
  }

  private final QueuedInput[] inputs;
  private final byte[][] batch;
  private final int[] batched;
  private final int batchSize;

  /**
   * @param batchSize bytes gathered for a client before they are queued
   * @param queued batches queued per client before the loader waits
   */
  public ClientFeeds(int clients, int batchSize, int queued) {
    inputs = new QueuedInput[clients];
    batch = new byte[clients][];
    batched = new int[clients];
    this.batchSize = batchSize;
    for (int c = 0; c < clients; c++) {
      inputs[c] = new QueuedInput(queued);
      batch[c] = new byte[batchSize];
    }
  }

  /** Client {@code client}'s standard input. */
  public QueuedInput input(int client) {
    return inputs[client];
  }

  /** Appends to a client's input bytes the caller goes on using (copied). */
  public void write(int client, byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (batched[client] == batchSize) {
        send(client);
      }
      int n = Math.min(batchSize - batched[client], len);
      System.arraycopy(b, off, batch[client], batched[client], n);
      batched[client] += n;
      off += n;
      len -= n;
    }
  }

  /** Appends to a client's input bytes the caller no longer changes: a batch's worth or more is queued as it is. */
  public void hand(int client, byte[] b, int off, int len) throws IOException {
    if (batched[client] + len > batchSize) {
      send(client);
    }
    if (len >= batchSize) {
      inputs[client].put(b, off, len, this::alive);
      return;
    }
    System.arraycopy(b, off, batch[client], batched[client], len);
    batched[client] += len;
  }

  /** Queues what was gathered for a client. */
  public void send(int client) throws IOException {
    if (batched[client] > 0) {
      inputs[client].put(batch[client], 0, batched[client], this::alive);
      batch[client] = new byte[batchSize];
      batched[client] = 0;
    }
  }

  /** Queues what is gathered and ends every client's input. */
  public void end() throws IOException {
    for (int c = 0; c < inputs.length; c++) {
      send(c);
      inputs[c].end();
    }
  }

  /** Every client's input fails at its next read: ExternalCommand kills the clients. */
  public void abort(IOException reason) {
    for (QueuedInput input : inputs) {
      input.abort(reason);
    }
  }

  /** Every client still reads, or {@link ClientGone}. */
  public void alive() throws IOException {
    for (QueuedInput input : inputs) {
      if (input.isExited()) {
        throw new ClientGone();
      }
    }
  }
}
