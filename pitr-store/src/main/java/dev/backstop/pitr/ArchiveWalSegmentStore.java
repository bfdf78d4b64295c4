package dev.backstop.pitr;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdInputStream;
import dev.backstop.kit.archive.ArchiveCipher;
import dev.backstop.kit.archive.ArchiveStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * {@link WalSegmentStore} over Backstop's archive store: each object zstd-compressed (level 1, one frame)
 * then encrypted with the addon's data key, the object's key bound as associated data (docs/pitr-design.md §4).
 */
public final class ArchiveWalSegmentStore implements WalSegmentStore {

  private final ArchiveStore store;
  private final ArchiveCipher cipher;
  private final Path scratch;

  /** {@code scratch}: where objects are staged (encrypted) for the store's file-based put; never holds plain WAL. */
  public ArchiveWalSegmentStore(ArchiveStore store, ArchiveCipher cipher, Path scratch) throws IOException {
    this.store = store;
    this.cipher = cipher;
    this.scratch = Files.createDirectories(scratch);
  }

  @Override
  public StoredObject putChunk(String addonId, WalSegmentName segment, Lsn start, ByteBuffer plain) throws IOException {
    byte[] bytes = new byte[plain.remaining()];
    plain.duplicate().get(bytes);
    String key = PitrKeys.chunk(addonId, segment, start, start.plus(bytes.length));
    // putIfAbsent: a chunk is immutable content at its range, so an earlier identical upload is as good as ours
    long stored = store(addonId, key, Zstd.compress(bytes, 1), true);
    return new StoredObject(key, bytes.length, stored, sha256(bytes));
  }

  @Override
  public StoredObject putSegment(String addonId, WalSegmentName segment, byte[] plain) throws IOException {
    if (plain.length != segment.segmentSize()) {
      throw new IllegalArgumentException("segment " + segment + " has " + plain.length + " bytes, not " + segment.segmentSize());
    }
    String key = PitrKeys.segment(addonId, segment);
    long stored = store(addonId, key, Zstd.compress(plain, 1), false);
    return new StoredObject(key, plain.length, stored, sha256(plain));
  }

  @Override
  public void putHistory(String addonId, int timeline, byte[] content) throws IOException {
    store(addonId, PitrKeys.history(addonId, timeline), content, false);
  }

  @Override
  public Optional<byte[]> history(String addonId, int timeline) throws IOException {
    String key = PitrKeys.history(addonId, timeline);
    if (!store.exists(key)) {
      return Optional.empty();
    }
    try (InputStream in = cipher.open(addonId, key, 0)) {
      return Optional.of(in.readAllBytes());
    }
  }

  @Override
  public Optional<byte[]> fetchSegment(String addonId, WalSegmentName segment) throws IOException {
    String whole = PitrKeys.segment(addonId, segment);
    if (store.exists(whole)) {
      byte[] plain = decompressed(addonId, whole);
      if (plain.length != segment.segmentSize()) {
        throw new IOException(whole + " holds " + plain.length + " bytes, not a whole segment");
      }
      return Optional.of(plain);
    }
    List<StoredWal> chunks = new ArrayList<>();
    for (String key : store.list(PitrKeys.chunkPrefix(addonId, segment))) {
      Lsn[] range = PitrKeys.chunkRange(key);
      if (range != null) {
        chunks.add(new StoredWal(key, segment, range[0], range[1], true));
      }
    }
    chunks.sort(Comparator.comparing(StoredWal::start).thenComparing(StoredWal::end));
    byte[] assembled = new byte[(int) segment.segmentSize()];
    Lsn covered = segment.startLsn();
    for (StoredWal chunk : chunks) {
      if (chunk.start().isAfter(covered)) {
        break; // a hole: what follows cannot be replayed, recovery stops at the zeros
      }
      if (!chunk.end().isAfter(covered)) {
        continue; // overlaps are identical bytes, already copied
      }
      byte[] plain = decompressed(addonId, chunk.key());
      if (plain.length != chunk.end().minus(chunk.start())) {
        throw new IOException(chunk.key() + " holds " + plain.length + " bytes, not its range");
      }
      int from = (int) covered.minus(chunk.start());
      System.arraycopy(plain, from, assembled, (int) covered.minus(segment.startLsn()), plain.length - from);
      covered = chunk.end();
    }
    return covered.equals(segment.startLsn()) ? Optional.empty() : Optional.of(assembled);
  }

  @Override
  public List<StoredWal> list(String addonId, int timeline, long segmentSize) throws IOException {
    List<StoredWal> found = new ArrayList<>();
    String prefix = PitrKeys.walPrefix(addonId, timeline);
    for (String key : store.list(prefix)) {
      String rest = key.substring(prefix.length());
      int slash = rest.indexOf('/');
      String segName = slash < 0 ? rest.substring(0, Math.max(0, rest.length() - PitrKeys.COMPRESSED_SUFFIX.length())) : rest.substring(0, slash);
      if (!WalSegmentName.isSegment(segName)) {
        continue;
      }
      WalSegmentName segment = WalSegmentName.parse(segName, segmentSize);
      if (slash < 0) {
        found.add(new StoredWal(key, segment, segment.startLsn(), segment.endLsn(), false));
      } else {
        Lsn[] range = PitrKeys.chunkRange(key);
        if (range != null) {
          found.add(new StoredWal(key, segment, range[0], range[1], true));
        }
      }
    }
    found.sort(Comparator.comparing(StoredWal::start).thenComparing(StoredWal::end));
    return found;
  }

  @Override
  public void deleteChunks(String addonId, WalSegmentName segment) throws IOException {
    if (!store.exists(PitrKeys.segment(addonId, segment))) {
      throw new IllegalStateException("chunks of " + segment + " are the only copy: its whole segment is not stored");
    }
    for (String key : store.list(PitrKeys.chunkPrefix(addonId, segment))) {
      store.delete(key);
    }
  }

  @Override
  public boolean delete(StoredWal wal) throws IOException {
    return store.delete(wal.key());
  }

  /** Returns the bytes at rest. */
  private long store(String addonId, String key, byte[] plain, boolean ifAbsent) throws IOException {
    Path staged = Files.createTempFile(scratch, "wal", ".tink");
    try {
      try (OutputStream out = cipher.encrypting(addonId, key, Files.newOutputStream(staged))) {
        out.write(plain);
      }
      long size = Files.size(staged);
      if (ifAbsent) {
        store.putIfAbsent(key, staged);
      } else {
        store.put(key, staged);
      }
      return size;
    } finally {
      Files.deleteIfExists(staged);
    }
  }

  private byte[] decompressed(String addonId, String key) throws IOException {
    try (InputStream in = new ZstdInputStream(cipher.open(addonId, key, 0))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
      in.transferTo(out);
      return out.toByteArray();
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
