package dev.backstop.kit.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads decrypt in chunks of whole segments: the boundaries the cipher computes must be Tink's. */
class ArchiveCipherGeometryTest {

  private static final int CIPHERTEXT_SEGMENT = 1 << 20;
  private static final int TAG = 16;

  @TempDir Path dir;

  @Test
  void aPlaintextFillingTheFirstSegmentEncryptsToExactlyOneCiphertextSegment() throws Exception {
    long firstSegment = ArchiveStoreContractTest.segmentStart(1);
    assertThat(encryptedSize((int) firstSegment)).isEqualTo(CIPHERTEXT_SEGMENT);
    assertThat(encryptedSize((int) firstSegment + 1)).isEqualTo(CIPHERTEXT_SEGMENT + 1 + TAG);
  }

  @Test
  void laterSegmentsHoldTheCiphertextSegmentLessItsTag() throws Exception {
    long threeSegments = ArchiveStoreContractTest.segmentStart(3);
    assertThat(ArchiveStoreContractTest.segmentStart(2) - ArchiveStoreContractTest.segmentStart(1))
        .isEqualTo(CIPHERTEXT_SEGMENT - TAG);
    assertThat(encryptedSize((int) threeSegments)).isEqualTo(3L * CIPHERTEXT_SEGMENT);
  }

  private long encryptedSize(int plaintextLength) throws IOException {
    ArchiveCipher cipher = new ArchiveCipher(new FilesystemArchiveStore(dir.resolve("store")), new byte[32]);
    Path plain = Files.write(dir.resolve("plain"), new byte[plaintextLength]);
    Path encrypted = dir.resolve("encrypted");
    cipher.encrypt("addon", "addon/backup/archive.tar.zst" + ArchiveCipher.SUFFIX, plain, encrypted);
    return Files.size(encrypted);
  }
}
