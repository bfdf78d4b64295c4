package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class FilesystemArchiveStoreTest extends ArchiveStoreContractTest {

  Path root;

  @Override
  ArchiveStore newStore() throws IOException {
    root = Files.createDirectories(scratch.resolve("store"));
    return new FilesystemArchiveStore(root);
  }

  @Test
  void putLeavesOnlyTheArchiveAndDeleteRemovesEmptyFolders() throws IOException {
    store.put("addon/backup/archive", file("archive", randomBytes(100, 1)));
    assertThat(files()).containsExactly(root.resolve("addon/backup/archive"));

    store.delete("addon/backup/archive");
    assertThat(files()).isEmpty();
    try (Stream<Path> left = Files.list(root)) {
      assertThat(left).isEmpty();
    }
  }

  private java.util.List<Path> files() throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).toList();
    }
  }
}
