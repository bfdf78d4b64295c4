package dev.backstop.worker.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Streams read one after the other, as one. Unlike {@link java.io.SequenceInputStream}, a stream that has
 * ended is not closed before the next is read: an archive's dump stream must stay open after the dump
 * (the archive is checked to its end afterwards). {@link #close} closes them all, which is how a stalled
 * read is ended.
 */
public final class InputsInSequence extends ChunkedInputStream {

  private final List<InputStream> inputs;
  private int current;

  public InputsInSequence(InputStream... inputs) {
    this.inputs = List.of(inputs);
  }

  @Override
  protected int readChunk(byte[] b, int off, int len) throws IOException {
    while (current < inputs.size()) {
      int n = inputs.get(current).read(b, off, len);
      if (n > 0) {
        return n;
      }
      if (n < 0) {
        current++;
      }
    }
    return -1;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (InputStream input : inputs) {
      try {
        input.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
