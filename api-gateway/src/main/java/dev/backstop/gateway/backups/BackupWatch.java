package dev.backstop.gateway.backups;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Who is waiting for a backup's view to change: the long polls of {@code GET …/backups/{id}?wait=N}.
 * Each waiter is a look (re-render the view, answer if it changed) run on this watch's own thread, never
 * on a consumer's: at once when this instance records a change of that backup (its listing, its progress
 * board), and every {@link #LOOK_EVERY} for all waiters, because the listing's consumers share a group
 * across gateway instances, so a change may be recorded by another instance than the one holding the request.
 */
@Component
public class BackupWatch implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(BackupWatch.class);
  /** How late a change recorded by another gateway instance may be answered. */
  static final Duration LOOK_EVERY = Duration.ofSeconds(1);

  private final Map<String, Set<Runnable>> waiters = new ConcurrentHashMap<>();
  private final ScheduledExecutorService looks = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "backup-watch");
    thread.setDaemon(true);
    return thread;
  });

  public BackupWatch() {
    looks.scheduleWithFixedDelay(() -> waiters.values().forEach(set -> set.forEach(this::look)),
        LOOK_EVERY.toMillis(), LOOK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Runs {@code look} whenever backup {@code backupId} may have changed, and once right away (a change
   * between the caller's reading and this call is not lost), until the returned cancel is run.
   */
  public Runnable watch(String backupId, Runnable look) {
    // added inside compute: a cancel emptying and dropping the same backup's set at that moment cannot orphan it
    waiters.compute(backupId, (id, set) -> {
      Set<Runnable> watching = set == null ? ConcurrentHashMap.newKeySet() : set;
      watching.add(look);
      return watching;
    });
    looks.execute(() -> look(look));
    return () -> waiters.computeIfPresent(backupId, (id, set) -> {
      set.remove(look);
      return set.isEmpty() ? null : set;
    });
  }

  /** This instance recorded a change of backup {@code backupId}: its waiters look now. Cheap when none waits. */
  public void changed(String backupId) {
    Set<Runnable> set = backupId == null ? null : waiters.get(backupId);
    if (set != null) {
      try {
        looks.execute(() -> set.forEach(this::look));
      } catch (RejectedExecutionException stopping) {
        // the gateway is stopping: its held requests end with it, and the consumer's record is not at fault
      }
    }
  }

  /** How many requests wait now. */
  public int waiting() {
    return waiters.values().stream().mapToInt(Set::size).sum();
  }

  private void look(Runnable look) {
    try {
      look.run();
    } catch (RuntimeException e) {
      // one waiter's failed look (the store unreachable) must not stop the others': it looks again next time
      log.warn("a look at a watched backup failed: {}", e.toString());
    }
  }

  /** Stops looking; Spring calls it when the context closes. */
  @Override
  public void close() {
    looks.shutdownNow();
  }
}
