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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link WalSegmentStore} over Backstop's archive store: each object zstd-compressed (level 1, one frame)
 * then encrypted with the addon's data key, the object's key bound as associated data (docs/pitr-design.md §4).
 * Each cluster's objects under its system identifier; the legacy layout read beside its claimed cluster's.
 */
public final class ArchiveWalSegmentStore implements WalSegmentStore {

  private final ArchiveStore store;
  private final ArchiveCipher cipher;
  private final Path scratch;
  private final Map<String, Long> legacyOwners = new ConcurrentHashMap<>();

  /** {@code scratch}: where objects are staged (encrypted) for the store's file-based put; never holds plain WAL. */
  public ArchiveWalSegmentStore(ArchiveStore store, ArchiveCipher cipher, Path scratch) throws IOException {
    this.store = store;
    this.cipher = cipher;
    this.scratch = Files.createDirectories(scratch);
  }

  @Override
  public StoredObject putChunk(ClusterWal cluster, WalSegmentName segment, Lsn start, ByteBuffer plain) throws IOException {
    byte[] bytes = new byte[plain.remaining()];
    plain.duplicate().get(bytes);
    String key = PitrKeys.chunk(cluster, segment, start, start.plus(bytes.length));
    // putIfAbsent: a chunk is immutable content at its range, so an earlier identical upload is as good as ours
    long stored = store(cluster.addonId(), key, Zstd.compress(bytes, 1), true);
    return new StoredObject(key, bytes.length, stored, sha256(bytes));
  }

  @Override
  public StoredObject putSegment(ClusterWal cluster, WalSegmentName segment, byte[] plain) throws IOException {
    if (plain.length != segment.segmentSize()) {
      throw new IllegalArgumentException("segment " + segment + " has " + plain.length + " bytes, not " + segment.segmentSize());
    }
    String key = PitrKeys.segment(cluster, segment);
    long stored = store(cluster.addonId(), key, Zstd.compress(plain, 1), false);
    return new StoredObject(key, plain.length, stored, sha256(plain));
  }

  @Override
  public void putHistory(ClusterWal cluster, int timeline, byte[] content) throws IOException {
    store(cluster.addonId(), PitrKeys.history(cluster, timeline), content, false);
  }

  @Override
  public Optional<byte[]> history(ClusterWal cluster, int timeline) throws IOException {
    for (ClusterWal layout : layouts(cluster)) {
      String key = PitrKeys.history(layout, timeline);
      if (store.exists(key)) {
        try (InputStream in = cipher.open(cluster.addonId(), key, 0)) {
          return Optional.of(in.readAllBytes());
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public Optional<byte[]> fetchSegment(ClusterWal cluster, WalSegmentName segment) throws IOException {
    for (ClusterWal layout : layouts(cluster)) {
      Optional<byte[]> found = fetchFrom(layout, segment);
      if (found.isEmpty() || cluster.isLegacy()) {
        if (found.isPresent()) {
          return found;
        }
        continue;
      }
      OptionalLong written = WalPageHeader.systemId(found.get(), segment.segmentSize());
      if (written.isEmpty() || written.getAsLong() == cluster.systemId()) {
        return found;
      }
      if (!layout.isLegacy()) {
        throw new IOException(PitrKeys.segment(layout, segment) + " holds WAL of system "
            + Long.toUnsignedString(written.getAsLong()) + ", not of " + Long.toUnsignedString(cluster.systemId()));
      }
      // the legacy layout's segment of that name is another cluster's (written before keys named the cluster)
    }
    return Optional.empty();
  }

  private Optional<byte[]> fetchFrom(ClusterWal layout, WalSegmentName segment) throws IOException {
    String addonId = layout.addonId();
    String whole = PitrKeys.segment(layout, segment);
    if (store.exists(whole)) {
      byte[] plain = decompressed(addonId, whole);
      if (plain.length != segment.segmentSize()) {
        throw new IOException(whole + " holds " + plain.length + " bytes, not a whole segment");
      }
      return Optional.of(plain);
    }
    List<StoredWal> chunks = new ArrayList<>();
    for (String key : store.list(PitrKeys.chunkPrefix(layout, segment))) {
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
  public List<StoredWal> list(ClusterWal cluster, int timeline, long segmentSize) throws IOException {
    List<StoredWal> found = new ArrayList<>();
    for (ClusterWal layout : layouts(cluster)) {
      String prefix = PitrKeys.walPrefix(layout, timeline);
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
    }
    found.sort(Comparator.comparing(StoredWal::start).thenComparing(StoredWal::end));
    return found;
  }

  @Override
  public void deleteChunks(ClusterWal cluster, WalSegmentName segment) throws IOException {
    if (!store.exists(PitrKeys.segment(cluster, segment))) {
      throw new IllegalStateException("chunks of " + segment + " are the only copy: its whole segment is not stored");
    }
    for (String key : store.list(PitrKeys.chunkPrefix(cluster, segment))) {
      store.delete(key);
    }
  }

  @Override
  public boolean delete(StoredWal wal) throws IOException {
    return store.delete(wal.key());
  }

  @Override
  public List<Long> systems(String addonId) throws IOException {
    String prefix = PitrKeys.systemsPrefix(addonId);
    Set<Long> systems = new TreeSet<>(Long::compareUnsigned);
    for (String key : store.list(prefix)) {
      String rest = key.substring(prefix.length());
      int slash = rest.indexOf('/');
      if (slash > 0) {
        try {
          systems.add(Long.parseUnsignedLong(rest.substring(0, slash)));
        } catch (NumberFormatException notOurs) {
          // not a cluster's folder
        }
      }
    }
    return List.copyOf(systems);
  }

  @Override
  public OptionalLong legacyOwner(String addonId) throws IOException {
    Long cached = legacyOwners.get(addonId);
    if (cached != null) {
      return OptionalLong.of(cached);
    }
    String key = PitrKeys.legacyClaim(addonId);
    if (!store.exists(key)) {
      return OptionalLong.empty();
    }
    try (InputStream in = cipher.open(addonId, key, 0)) {
      long owner = Long.parseUnsignedLong(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
      legacyOwners.put(addonId, owner); // a claim never changes once written
      return OptionalLong.of(owner);
    }
  }

  @Override
  public OptionalLong claimLegacy(String addonId, long systemId) throws IOException {
    if (systemId == 0) {
      throw new IllegalArgumentException("a cluster's system identifier is never 0");
    }
    OptionalLong owner = legacyOwner(addonId);
    if (owner.isPresent() || legacyKeys(addonId).isEmpty()) {
      return owner;
    }
    // putIfAbsent: of two claims racing, the first stays and both read it back
    store(addonId, PitrKeys.legacyClaim(addonId), Long.toUnsignedString(systemId).getBytes(StandardCharsets.US_ASCII), true);
    return legacyOwner(addonId);
  }

  @Override
  public int deleteCluster(ClusterWal cluster) throws IOException {
    List<String> keys = new ArrayList<>();
    if (cluster.isLegacy()) {
      keys.addAll(legacyKeys(cluster.addonId()));
    } else {
      keys.addAll(store.list(PitrKeys.clusterPrefix(cluster)));
      OptionalLong owner = legacyOwner(cluster.addonId());
      if (owner.isPresent() && owner.getAsLong() == cluster.systemId()) {
        keys.addAll(legacyKeys(cluster.addonId()));
      }
    }
    int deleted = 0;
    for (String key : keys) {
      if (store.delete(key)) {
        deleted++;
      }
    }
    return deleted;
  }

  /** The legacy layout's WAL and histories (the claim stays: it still says whose they were). */
  private List<String> legacyKeys(String addonId) throws IOException {
    ClusterWal legacy = ClusterWal.legacy(addonId);
    List<String> keys = new ArrayList<>(store.list(PitrKeys.walRoot(legacy)));
    keys.addAll(store.list(PitrKeys.historyPrefix(legacy)));
    return keys;
  }

  /**
   * Where a cluster's objects are read from, its own layout first: then the legacy layout, when that is this
   * cluster's by its claim or claimed by none yet (its segments are then checked by their first page).
   */
  private List<ClusterWal> layouts(ClusterWal cluster) throws IOException {
    if (cluster.isLegacy()) {
      return List.of(cluster);
    }
    OptionalLong owner = legacyOwner(cluster.addonId());
    if (owner.isPresent() && owner.getAsLong() != cluster.systemId()) {
      return List.of(cluster);
    }
    return List.of(cluster, ClusterWal.legacy(cluster.addonId()));
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
