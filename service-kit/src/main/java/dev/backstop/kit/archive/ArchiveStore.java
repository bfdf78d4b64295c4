package dev.backstop.kit.archive;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where backup archives live. An archive becomes visible only once it is stored whole: readers never
 * see a partial one. Keys are relative paths such as {@code <addon>/<backup>/<archive name>}.
 */
public interface ArchiveStore {

  /** Stores the file's bytes under {@code key}, atomically replacing nothing that exists already. */
  void put(String key, Path file) throws IOException;

  /**
   * Stores the file under {@code key} as {@link #put} does, taking the file: it is gone afterwards. A
   * store on the same file system renames it instead of copying (a backup's archive is written once).
   */
  default void putTaking(String key, Path file) throws IOException {
    try {
      put(key, file);
    } finally {
      java.nio.file.Files.deleteIfExists(file);
    }
  }

  /**
   * Stores the file's bytes under {@code key} only if nothing is stored there yet, atomically: of two
   * concurrent writers, one wins. Returns whether this call stored it.
   */
  boolean putIfAbsent(String key, Path file) throws IOException;

  /** Opens the archive for reading from {@code offset}; {@link NoSuchArchiveException} if it is not there. */
  InputStream open(String key, long offset) throws IOException;

  /** Size in bytes; {@link NoSuchArchiveException} if it is not there. */
  long size(String key) throws IOException;

  boolean exists(String key) throws IOException;

  /**
   * The archive as a plain file on this machine holding exactly the bytes {@link #open} streams, so
   * that a web server can send it with zero copy ({@code sendfile}); empty when the store has no such
   * file (object storage, or archives that are transformed on the way out).
   */
  default Optional<Path> localFile(String key) throws IOException {
    return Optional.empty();
  }

  /** The archive as a channel that can seek, where the store has one; empty otherwise (callers then read a stream). */
  default Optional<SeekableByteChannel> openChannel(String key) throws IOException {
    return Optional.empty();
  }

  /**
   * The keys of every archive stored whole whose key starts with {@code prefix}, in ascending (UTF-8 byte,
   * i.e. {@link String#compareTo} for ASCII keys) order. A prefix is matched as a string, not as a folder:
   * {@code "a/b"} lists {@code a/b/c} and {@code a/bc}; pass {@code "a/b/"} for a folder. Archives being
   * written are not listed. Callers use it for small, bounded prefixes (one addon's WAL of one timeline),
   * so the whole answer is returned at once.
   */
  List<String> list(String prefix) throws IOException;

  /**
   * Throws if the store cannot be reached or written to right now (readiness): by default, asks whether a key
   * exists, which costs one request and needs no object.
   */
  default void checkReachable() throws IOException {
    exists(".backstop-health");
  }

  /** Deletes the archive. Idempotent: returns false, and does nothing, when it is already gone. */
  boolean delete(String key) throws IOException;

  /** The archive asked for is not in the store. */
  class NoSuchArchiveException extends IOException {
    public NoSuchArchiveException(String key) {
      super("no archive " + key);
    }
  }
}
