package dev.backstop.kit.archive;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Archives as files under a root directory. A put copies into a hidden temporary file beside the
 * target and renames it, so a reader sees the whole archive or nothing.
 */
public class FilesystemArchiveStore implements ArchiveStore {

  private final Path root;

  public FilesystemArchiveStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  @Override
  public String toString() {
    return "filesystem store under " + root;
  }

  /** The root is a directory this process can write into (created if missing, as a put would). */
  @Override
  public void checkReachable() throws IOException {
    Files.createDirectories(root);
    if (!Files.isDirectory(root) || !Files.isWritable(root)) {
      throw new IOException("the archive directory " + root + " is not a writable directory");
    }
  }

  @Override
  public void put(String key, Path file) throws IOException {
    Path target = resolve(key);
    publish(staged(target, file, false), target);
  }

  @Override
  public void putTaking(String key, Path file) throws IOException {
    Path target = resolve(key);
    publish(staged(target, file, true), target);
  }

  private static void publish(Path partial, Path target) throws IOException {
    try {
      try {
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(partial, target);
      }
    } finally {
      Files.deleteIfExists(partial);
    }
  }

  @Override
  public boolean putIfAbsent(String key, Path file) throws IOException {
    Path target = resolve(key);
    Path partial = staged(target, file, false);
    try {
      // a hard link is created atomically, and never over an existing file (a rename would replace it)
      Files.createLink(target, partial);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(partial);
    }
  }

  /**
   * The file's bytes, on disk, in a hidden file beside {@code target}: ready to appear under its name at
   * once. Taken, the file is moved there (a rename within one file system) rather than copied.
   */
  private static Path staged(Path target, Path file, boolean take) throws IOException {
    Files.createDirectories(target.getParent());
    Path partial = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".partial");
    try {
      if (take) {
        Files.move(file, partial);
      } else {
        Files.copy(file, partial);
      }
      try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      return partial;
    } catch (IOException e) {
      Files.deleteIfExists(partial);
      throw e;
    }
  }

  @Override
  public Optional<SeekableByteChannel> openChannel(String key) throws IOException {
    try {
      return Optional.of(FileChannel.open(resolve(key), StandardOpenOption.READ));
    } catch (NoSuchFileException e) {
      throw new NoSuchArchiveException(key);
    }
  }

  @Override
  public InputStream open(String key, long offset) throws IOException {
    try {
      FileChannel channel = FileChannel.open(resolve(key), StandardOpenOption.READ);
      channel.position(offset);
      return Channels.newInputStream(channel);
    } catch (NoSuchFileException e) {
      throw new NoSuchArchiveException(key);
    }
  }

  @Override
  public long size(String key) throws IOException {
    try {
      return Files.size(resolve(key));
    } catch (NoSuchFileException e) {
      throw new NoSuchArchiveException(key);
    }
  }

  @Override
  public Optional<Path> localFile(String key) {
    Path path = resolve(key);
    return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(resolve(key));
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    if (prefix.startsWith("/") || ("/" + prefix).contains("/../") || ("/" + prefix).endsWith("/..")) {
      throw new IllegalArgumentException("archive prefix escapes the store: " + prefix);
    }
    // walk only the deepest folder the prefix names whole; the rest of the prefix filters names
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash)).normalize();
    if (!start.startsWith(root) || !Files.isDirectory(start)) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    try (var walk = Files.walk(start)) {
      walk.filter(Files::isRegularFile)
          // a put's hidden staging file is not an archive yet
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .map(p -> root.relativize(p).toString().replace(java.io.File.separatorChar, '/'))
          .filter(k -> k.startsWith(prefix))
          .forEach(keys::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    keys.sort(null);
    return keys;
  }

  @Override
  public boolean delete(String key) throws IOException {
    Path target = resolve(key);
    boolean deleted = Files.deleteIfExists(target);
    // drop the now empty <addon>/<backup> folders; another backup's files keep theirs
    for (Path dir = target.getParent(); dir != null && !dir.equals(root); dir = dir.getParent()) {
      try (var entries = Files.list(dir)) {
        if (entries.findAny().isPresent()) {
          break;
        }
      } catch (NoSuchFileException e) {
        continue;
      }
      Files.deleteIfExists(dir);
    }
    return deleted;
  }

  private Path resolve(String key) {
    Path path = root.resolve(key).normalize();
    if (!path.startsWith(root) || path.equals(root)) {
      throw new IllegalArgumentException("archive key escapes the store: " + key);
    }
    return path;
  }
}
