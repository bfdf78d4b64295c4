package dev.backstop.worker.pitr;

import dev.backstop.pitr.TimelineHistory;
import dev.backstop.pitr.WalSegmentName;
import dev.backstop.pitr.ClusterWal;
import dev.backstop.pitr.WalSegmentStore;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.UserPrincipal;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the scratch server's {@code restore_command} from Backstop's WAL archive (docs/pitr-design.md
 * §7.3), and fetches the segments replay will ask for next before it asks.
 *
 * <p>The protocol with {@code fetch.sh}: a file already in {@code ready/} it moves to {@code %p} at once and
 * says so with {@code taken/<name>}; else it creates {@code requests/<name>.<pid>}, one per call, and waits;
 * this answers with {@code ready/<name>} (the file, whole), {@code ready/<name>.missing} (the archive has no
 * such file: exit 1, recovery tries the next timeline or ends) or {@code ready/<name>.failed} (the store
 * failed: exit 126, which aborts recovery rather than ending it early, before WAL that exists). A request
 * is answered by reading the store unless the copy fetched ahead is still there for it, so a name not
 * foreseen (another timeline's segment, a history file) or asked for again (the segment recovery ended in,
 * read once more at promotion) is answered right, only not ahead of time.
 *
 * <p>Ahead: once the server has a segment, the next {@code lookahead} segments on the restore's timeline
 * path are fetched by {@code threads} threads (decrypted and decompressed under {@code ahead/}) and put into
 * {@code ready/} as soon as each is whole, before the server asks: {@code fetch.sh} then finds its file at
 * its first look and renames it at once, as a stock {@code cp} from a local folder would, instead of waiting
 * for this side's next look at {@code requests/} (replay asks for a segment every few tens of milliseconds:
 * a poll's wait per segment added up to seconds per GiB). Replay overlaps the download, and never waits
 * for one file at a time. Where replay is only moves forward: this side reads {@code taken/} and {@code
 * requests/} when it gets to them, possibly after replay has gone further, and a late or repeated name
 * never moves the lookahead back (it did when every call left a request, read in no particular order: copies
 * fetched again for nobody, and a call for a segment asked once more at promotion, merged with the earlier
 * call's request not yet read, answered with the copy that call had taken; recovery waited, then failed).
 */
public final class WalPrefetcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WalPrefetcher.class);
  private static final Pattern NAME = Pattern.compile("[0-9A-Za-z._-]{1,64}");

  private final WalSegmentStore store;
  private final ClusterWal cluster;
  private final String addonId;
  private final long segmentSize;
  private final TimelineHistory path;
  private final Path requests;
  private final Path taken;
  private final Path ready;
  private final Path ahead;
  private final UserPrincipal owner;
  private final int lookahead;
  private final ExecutorService fetchers;
  /** Files fetched or being fetched ahead, by name: the bytes put into {@code ready/}, or empty when the store has none. */
  private final Map<String, Future<Optional<Long>>> fetched = new ConcurrentHashMap<>();
  private final AtomicLong segmentsServed = new AtomicLong();
  private final AtomicLong bytesServed = new AtomicLong();
  /** Requests answered whose {@code fetch.sh} has not yet removed them (the answering thread's own). */
  private final Set<String> answered = new HashSet<>();
  private final Thread answering;
  private volatile boolean stopping;
  private volatile long servedSegment = -1;

  /**
   * @param path the history of the newest stored timeline the restore may follow ({@code recovery_target_timeline=latest})
   * @param walDirectory the scratch server's {@code wal} folder ({@code requests}, {@code taken}, {@code ready}, {@code ahead})
   * @param owner who must own the files handed to the server (its run user), or null
   */
  public WalPrefetcher(WalSegmentStore store, ClusterWal cluster, long segmentSize, TimelineHistory path, Path walDirectory,
      UserPrincipal owner, int lookahead, int threads) {
    this.store = store;
    this.cluster = cluster;
    this.addonId = cluster.addonId();
    this.segmentSize = segmentSize;
    this.path = path;
    this.requests = walDirectory.resolve("requests");
    this.taken = walDirectory.resolve("taken");
    this.ready = walDirectory.resolve("ready");
    this.ahead = walDirectory.resolve("ahead");
    this.owner = owner;
    this.lookahead = lookahead;
    this.fetchers = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "wal-prefetch-" + addonId);
      t.setDaemon(true);
      return t;
    });
    this.answering = new Thread(this::answer, "wal-answer-" + addonId);
    this.answering.setDaemon(true);
  }

  public WalPrefetcher start() {
    answering.start();
    return this;
  }

  /** Segments handed to the server so far. */
  public long segmentsServed() {
    return segmentsServed.get();
  }

  public long bytesServed() {
    return bytesServed.get();
  }

  /** The timeline a segment is read from on the path: the newest one that began before the segment ends. */
  int timelineOf(long segmentNumber) {
    return path.timelineOf(new dev.backstop.pitr.Lsn((segmentNumber + 1) * segmentSize - 1));
  }

  private void answer() {
    while (!stopping) {
      boolean any = false;
      try {
        any = noteTaken() | answerRequests();
      } catch (IOException | RuntimeException e) {
        if (!stopping) {
          log.warn("restore {}: answering restore_command failed: {}", addonId, e.toString());
        }
      }
      if (!any) {
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** Files the server took from {@code ready/} without asking: counted, and the lookahead moved on. */
  private boolean noteTaken() throws IOException {
    boolean any = false;
    try (DirectoryStream<Path> marks = Files.newDirectoryStream(taken)) {
      for (Path mark : marks) {
        any = true;
        String name = mark.getFileName().toString();
        Files.deleteIfExists(mark);
        if (NAME.matcher(name).matches() && WalSegmentName.isSegment(name)) {
          Future<Optional<Long>> early = fetched.remove(name);
          served(name, early != null && early.state() == Future.State.SUCCESS
              ? early.resultNow().orElse(segmentSize) : segmentSize);
        }
      }
    }
    return any;
  }

  /** Answers each request once; a request stays until its {@code fetch.sh} has the answer. */
  private boolean answerRequests() throws IOException {
    boolean any = false;
    Set<String> pending = new HashSet<>();
    try (DirectoryStream<Path> asked = Files.newDirectoryStream(requests)) {
      for (Path request : asked) {
        String file = request.getFileName().toString();
        pending.add(file);
        if (answered.add(file)) {
          any = true;
          int pid = file.lastIndexOf('.');
          serve(pid > 0 ? file.substring(0, pid) : file, request);
        }
      }
    }
    answered.retainAll(pending);
    return any;
  }

  private void serve(String name, Path request) throws IOException {
    if (!NAME.matcher(name).matches()) {
      mark(name, ".missing");
      return;
    }
    try {
      Optional<Long> bytes = Optional.empty();
      Future<Optional<Long>> early = fetched.remove(name);
      if (early != null) {
        // fetched ahead, or on its way: in ready/ once whole
        bytes = outcome(early);
      }
      if (bytes.isEmpty() || !(Files.exists(ready.resolve(name)) || Files.notExists(request))) {
        // not fetched ahead, or that copy went to an earlier call for the same name: read it now
        bytes = fetch(name, -1);
      }
      if (bytes.isEmpty()) {
        mark(name, ".missing");
        return;
      }
      served(name, bytes.get());
    } catch (IOException | ExecutionException | RuntimeException e) {
      log.warn("restore {}: {} could not be fetched from the archive: {}", addonId, name, e.toString());
      mark(name, ".failed");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopping = true;
    }
  }

  /** What a fetch ahead gave: its bytes put into {@code ready/}, or empty when it put nothing there. */
  private static Optional<Long> outcome(Future<Optional<Long>> early) throws ExecutionException, InterruptedException {
    try {
      return early.get();
    } catch (CancellationException e) {
      return Optional.empty();
    }
  }

  /** The server has {@code name}: counted, and for a segment past the newest one, the lookahead moved on. */
  private void served(String name, long bytes) {
    bytesServed.addAndGet(bytes);
    if (WalSegmentName.isSegment(name)) {
      segmentsServed.incrementAndGet();
      long number = WalSegmentName.parse(name, segmentSize).segmentNumber();
      if (number > servedSegment) {
        servedSegment = number;
        fetchAhead(number);
      }
    }
  }

  private void fetchAhead(long from) {
    // what was fetched for segments replay passed is of no further use (another timeline's copy)
    fetched.entrySet().removeIf(e -> {
      String n = e.getKey();
      if (WalSegmentName.isSegment(n) && WalSegmentName.parse(n, segmentSize).segmentNumber() <= from) {
        e.getValue().cancel(true);
        try {
          Files.deleteIfExists(ready.resolve(n));
        } catch (IOException ignored) {
          // the scratch folder goes with the restore
        }
        return true;
      }
      return false;
    });
    for (long n = from + 1; n <= from + lookahead; n++) {
      String name = new WalSegmentName(timelineOf(n), n, segmentSize).fileName();
      long number = n;
      fetched.computeIfAbsent(name, k -> fetchers.submit(() -> fetch(k, number)));
    }
  }

  /**
   * The file {@code name} from the store, written whole under {@code ahead/} then renamed into {@code
   * ready/}; its size, or empty when the store has none. {@code aheadOf}: the segment number when fetched
   * ahead (not put into {@code ready/} once replay is past it), else -1.
   */
  private Optional<Long> fetch(String name, long aheadOf) throws IOException {
    Optional<byte[]> content;
    int historyTimeline = WalSegmentName.historyTimeline(name);
    if (historyTimeline > 0) {
      content = store.history(cluster, historyTimeline);
    } else if (WalSegmentName.isSegment(name)) {
      content = store.fetchSegment(cluster, WalSegmentName.parse(name, segmentSize));
    } else {
      content = Optional.empty(); // .partial, .backup: never archived
    }
    if (content.isEmpty() || stopping) {
      return Optional.empty();
    }
    Path temp = ahead.resolve(".tmp-" + name);
    Files.write(temp, content.get());
    if (owner != null) {
      Files.setOwner(temp, owner);
    }
    if (aheadOf >= 0 && aheadOf <= servedSegment) {
      Files.deleteIfExists(temp); // replay went past it (another timeline's copy was asked for)
      return Optional.empty();
    }
    Files.move(temp, ready.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return Optional.of((long) content.get().length);
  }

  private void mark(String name, String suffix) throws IOException {
    String safe = NAME.matcher(name).matches() ? name : "invalid";
    Path marker = ready.resolve(safe + suffix);
    Files.writeString(marker, "");
    if (owner != null) {
      Files.setOwner(marker, owner);
    }
  }

  /** The newest segment handed to the server, or -1. */
  public long servedSegment() {
    return servedSegment;
  }

  @Override
  public void close() {
    stopping = true;
    answering.interrupt();
    fetchers.shutdownNow();
    try {
      answering.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
