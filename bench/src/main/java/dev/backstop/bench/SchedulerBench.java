package dev.backstop.bench;

import com.mongodb.client.MongoClients;
import dev.backstop.scheduler.SchedulerApplication;
import dev.backstop.scheduler.schedule.ScheduleTicker;
import dev.backstop.scheduler.schedule.RecurringBackup;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.BackupKind;
import dev.backstop.schemas.events.BackupRequested;
import dev.backstop.schemas.events.Plan;
import dev.backstop.testing.AdjustableClock;
import dev.backstop.testing.Events;
import dev.backstop.inprocess.InProcessKafka;
import dev.backstop.inprocess.InProcessMongo;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.bson.Document;

/**
 * 100,000 addons, a third of them due at 01:00 Europe/Paris: the scheduler's real ticker and catalog
 * (in-process broker and store) driven through that hour in 15-second ticks of a simulated clock.
 * Measures the time and CPU to compute and emit the hour's requests, the spread over the hour and
 * duplicates; and, as the baseline in the same run, the CPU a scheduler scanning every schedule on
 * every tick spends over the same hour.
 *
 * <p>Prints one Markdown table row per line, for docs/benchmarks.md.
 */
public final class SchedulerBench {

  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
  private static final Duration TICK = Duration.ofSeconds(15);

  public static void main(String[] args) throws Exception {
    int addons = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    var threads = ManagementFactory.getThreadMXBean();

    try (InProcessKafka kafka = InProcessKafka.startTemporary(); InProcessMongo mongo = InProcessMongo.inMemory()) {
      LocalDate day = LocalDate.now(PARIS).plusDays(2);
      Instant hourStart = ZonedDateTime.of(day.atTime(1, 0), PARIS).toInstant();
      AdjustableClock clock = new AdjustableClock();
      // registered just before the hour: every entry's next run is then at or after the hour's start
      clock.advance(Duration.between(Instant.now(), hourStart.minusSeconds(1)));
      Instant hourEnd = hourStart.plus(Duration.ofHours(1));

      var context = SchedulerApplication.builder()
          .initializers(c -> c.getBeanFactory().registerSingleton("clock", clock))
          .run("--spring.main.web-application-type=none", "--spring.main.banner-mode=off",
              "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
              "--spring.cloud.stream.kafka.binder.brokers=" + kafka.bootstrapServers(),
              "--spring.mongodb.uri=" + mongo.uri(),
              "--backstop.scheduler.tick=PT24H",
              "--spring.cloud.function.definition=");
      @SuppressWarnings("unchecked")
      Consumer<SpecificRecord> addonEvents = context.getBean("addonEvents", Consumer.class);
      ScheduleTicker ticker = context.getBean(ScheduleTicker.class);

      long t0 = System.nanoTime();
      int dueInHour = 0;
      java.util.Map<String, RecurringBackup> schedulesById = new java.util.HashMap<>();
      for (int i = 0; i < addons; i++) {
        // a third at 01:00 Paris (the default), the rest over the other hours and a few zones
        boolean atOne = i % 3 == 0;
        int hour = atOne ? 1 : 2 + i % 22;
        String zone = atOne ? "Europe/Paris" : List.of("Europe/Paris", "UTC", "America/New_York").get(i % 3);
        addonEvents.accept(Events.registered(Events.addon("addon-" + i, "app-" + i, Plan.STARTER, hour, zone), clock.instant()));
        RecurringBackup schedule = RecurringBackup.daily("addon-" + i, hour, ZoneId.of(zone));
        schedulesById.put("addon-" + i, schedule);
        // due in the hour: the third at 01:00 Paris, and whichever others' hour falls in it
        if (schedule.nextFireAfter(clock.instant()).isBefore(hourEnd)) {
          dueInHour++;
        }
      }
      double loadSeconds = (System.nanoTime() - t0) / 1e9;
      System.err.printf(Locale.ROOT, "loaded %d addons (%d schedule entries) in %.1f s%n", addons, 2 * addons, loadSeconds);

      // the hour, ticked by the real ticker
      clock.advance(Duration.between(clock.instant(), hourStart));
      long cpu0 = os.getProcessCpuTime();
      long threadCpu0 = threads.getCurrentThreadCpuTime();
      long wall0 = System.nanoTime();
      int emitted = 0;
      long slowestTick = 0;
      for (Instant now = hourStart; now.isBefore(hourEnd); now = now.plus(TICK)) {
        clock.advance(Duration.between(clock.instant(), now));
        long tick0 = System.nanoTime();
        emitted += ticker.tick();
        slowestTick = Math.max(slowestTick, System.nanoTime() - tick0);
      }
      double wall = (System.nanoTime() - wall0) / 1e9;
      double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
      double tickerCpu = (threads.getCurrentThreadCpuTime() - threadCpu0) / 1e9;

      List<BackupRequested> requests = Events.readAll(kafka.bootstrapServers(), Topics.BACKUP_REQUESTS, Duration.ofSeconds(3))
          .stream().map(BackupRequested.class::cast).filter(r -> r.getKind() == BackupKind.SCHEDULED).toList();
      Set<String> ids = new HashSet<>();
      int duplicates = 0;
      int outsideHour = 0;
      int[] perMinute = new int[60];
      for (BackupRequested r : requests) {
        if (!ids.add(r.getBackupId())) {
          duplicates++;
        }
        Instant at = r.getRequestedAt();
        if (at.isBefore(hourStart) || !at.isBefore(hourStart.plus(Duration.ofHours(1)))) {
          outsideHour++;
        } else {
          perMinute[(int) Duration.between(hourStart, at).toMinutes()]++;
        }
      }
      int minMinute = Integer.MAX_VALUE;
      int maxMinute = 0;
      for (int n : perMinute) {
        minMinute = Math.min(minMinute, n);
        maxMinute = Math.max(maxMinute, n);
      }
      // how late each request was against its own slot inside the hour
      long maxLateMs = 0;
      for (BackupRequested r : requests) {
        var schedule = schedulesById.get(r.getAddonId());
        Instant slot = schedule.fireTime(java.time.LocalDate.parse(r.getScheduledFor()));
        maxLateMs = Math.max(maxLateMs, Duration.between(slot, r.getRequestedAt()).toMillis());
      }

      // baseline, same run, same store: read every schedule on every tick and decide in memory; sampled
      // over the hour's first 4 ticks (one minute) and scaled to the hour's 240
      var schedules = MongoClients.create(mongo.uri()).getDatabase("backstop-scheduler").getCollection("schedules");
      long bcpu0 = os.getProcessCpuTime();
      long bwall0 = System.nanoTime();
      long scanned = 0;
      int baselineDue = 0;
      Instant dayAfter = hourStart.plus(Duration.ofDays(1));
      for (Instant now = dayAfter; now.isBefore(dayAfter.plus(Duration.ofMinutes(1))); now = now.plus(TICK)) {
        for (Document d : schedules.find().batchSize(2000)) {
          scanned++;
          Date next = d.getDate("nextRunAt");
          if (next != null && !next.toInstant().isAfter(now) && "SCHEDULED".equals(d.getString("kind"))) {
            baselineDue++;
          }
        }
      }
      double bwall = (System.nanoTime() - bwall0) / 1e9 * 60;
      double bcpu = (os.getProcessCpuTime() - bcpu0) / 1e9 * 60;
      scanned *= 60;
      context.close();

      System.out.printf(Locale.ROOT, "| %s | %,d addons, %,d due in the 01:00 Paris hour | Backstop: claim due entries by `nextRunAt`, emit | "
              + "%.1f s | %.1f s (ticker thread %.1f s) | %,d emitted, %d duplicates, %d outside the hour, latest %.1f s after its slot, "
              + "per minute %d–%d, slowest tick %.2f s |%n",
          LocalDate.now(), addons, dueInHour, wall, cpu, tickerCpu, requests.size(), duplicates, outsideHour, maxLateMs / 1000.0,
          minMinute, maxMinute, slowestTick / 1e9);
      System.out.printf(Locale.ROOT, "| %s | same store, the next day's 01:00 hour | baseline: scan every schedule on every tick (decide only, emit nothing; 4 ticks measured, ×60) | "
              + "%.0f s | %.0f s | %,d documents read (%,d of them due) |%n",
          LocalDate.now(), bwall, bcpu, scanned, baselineDue);
      if (requests.size() != dueInHour || duplicates > 0 || outsideHour > 0) {
        System.err.println("FAILED: expected " + dueInHour + " requests within the hour, no duplicates; got " + requests.size()
            + " requests, " + duplicates + " duplicates, " + outsideHour + " outside the hour");
        System.exit(1);
      }
    }
    System.exit(0);
  }

  private SchedulerBench() {}
}
