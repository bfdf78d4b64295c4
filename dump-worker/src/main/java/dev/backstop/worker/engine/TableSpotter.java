package dev.backstop.worker.engine;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes a dump through unchanged while looking for the byte sequence that starts a table's definition
 * in that engine's format, across writes (Knuth–Morris–Pratt, one pass, no buffering). It only has to
 * tell "some table" from "none": a dump that defines none while its database has tables was not a dump
 * of that database (an option that emptied it, a wrong database), whatever the tool's exit status.
 */
public class TableSpotter extends FilterOutputStream {

  private final byte[] pattern;
  private final int[] fallback;
  private int matched;
  private boolean seen;

  /** @param pattern the bytes that start a table's definition; null when the format has none to look for */
  public TableSpotter(OutputStream out, byte[] pattern) {
    super(out);
    this.pattern = pattern;
    this.fallback = pattern == null ? null : fallback(pattern);
  }

  /** True once the dump held the start of a table's definition. */
  public boolean sawTable() {
    return seen;
  }

  /** Whether this spotter looks at all (an engine without a pattern cannot tell). */
  public boolean looks() {
    return pattern != null;
  }

  @Override
  public void write(int b) throws IOException {
    look((byte) b);
    out.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (pattern != null && !seen) {
      for (int i = off; i < off + len && !seen; i++) {
        look(b[i]);
      }
    }
    out.write(b, off, len);
  }

  private void look(byte b) {
    if (pattern == null || seen) {
      return;
    }
    while (matched > 0 && pattern[matched] != b) {
      matched = fallback[matched - 1];
    }
    if (pattern[matched] == b) {
      matched++;
    }
    if (matched == pattern.length) {
      seen = true;
    }
  }

  private static int[] fallback(byte[] pattern) {
    int[] table = new int[pattern.length];
    for (int i = 1, k = 0; i < pattern.length; i++) {
      while (k > 0 && pattern[i] != pattern[k]) {
        k = table[k - 1];
      }
      if (pattern[i] == pattern[k]) {
        k++;
      }
      table[i] = k;
    }
    return table;
  }
}
