package dev.backstop.walarchiver;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import dev.backstop.kit.messaging.EventPublisher;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.pitr.BaseRef;
import dev.backstop.pitr.PitrState;
import dev.backstop.pitr.PitrWindow;
import dev.backstop.pitr.WindowCalculator;
import dev.backstop.schemas.Topics;
import dev.backstop.schemas.events.PitrBaseRef;
import dev.backstop.schemas.events.PitrWindowChanged;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Computes an addon's recoverable window ({@link WindowCalculator}) from the addon's plan, its bases and its
 * stream's saved facts, and publishes {@code PitrWindowChanged} on {@code backstop.pitr-events} when the
 * window differs from the last one published (state, earliest, reason, broken since, slot warning, system id
 * or bases). {@code latest} rides along but alone never causes an event: it moves every second, and
 * {@code WalArchived} carries it every {@code progress-interval}. Any instance may call {@link #refresh}
 * (the stream's owner, the consumers of addons and backup events): the last published window is kept in
 * {@code pitr_windows}, so a repeated or replayed call publishes nothing.
 */
public final class WindowPublisher {

  private static final Logger log = LoggerFactory.getLogger(WindowPublisher.class);

  /** The last window published for an addon, what the next one is compared with. */
  public record PublishedWindow(@BsonId String addonId, PitrState state, Instant earliest, Instant latest,
      String reason, Instant brokenSince, String slotWarning, Long systemId, List<String> bases, Instant at) {

    boolean sameAs(PitrWindow w) {
      return state == w.state() && Objects.equals(earliest, w.earliest()) && Objects.equals(reason, w.reason())
          && Objects.equals(brokenSince, w.brokenSince()) && Objects.equals(slotWarning, w.slotWarning())
          && Objects.equals(systemId == null ? 0L : systemId, w.systemId())
          && Objects.equals(bases, w.bases().stream().map(BaseRef::backupId).toList());
    }
  }

  private final MongoCollection<PublishedWindow> published;
  private final AddonsProjection addons;
  private final PitrBases bases;
  private final StreamLeases streams;
  private final EventPublisher publisher;
  private final Clock clock;
  private final boolean archiving;

  WindowPublisher(MongoDatabase database, AddonsProjection addons, PitrBases bases, StreamLeases streams,
      EventPublisher publisher, Clock clock, boolean archiving) {
    this.published = StoredRecords.collection(database, "pitr_windows", PublishedWindow.class);
    this.addons = addons;
    this.bases = bases;
    this.streams = streams;
    this.publisher = publisher;
    this.clock = clock;
    this.archiving = archiving;
  }

  /** How many addons' last published windows are in this state. */
  long count(PitrState state) {
    return published.countDocuments(Filters.eq("state", state.name()));
  }

  /**
   * The addon's window now, published if it changed; empty for an addon this service never heard of (its
   * registration, on another topic, may not be read yet: that event refreshes it).
   */
  public synchronized Optional<PitrWindow> refresh(String addonId) {
    AddonsProjection.Offer offer = addons.offer(addonId);
    if (!offer.known()) {
      return Optional.empty();
    }
    String unavailable = offer.unavailableReason();
    if (unavailable == null && !archiving) {
      unavailable = "WAL archiving is switched off on this Backstop (backstop.wal-archiver.enabled=false)";
    }
    List<WindowCalculator.Base> known = bases.kept(addonId).stream().map(PitrBases.StoredBase::toWindowBase).toList();
    Instant now = clock.instant();
    PitrWindow window = WindowCalculator.calculate(addonId, unavailable, streams.facts(addonId).toWindowFacts(), known, now);
    PublishedWindow last = published.find(Filters.eq("_id", addonId)).first();
    if (last != null && last.sameAs(window)) {
      return Optional.of(window);
    }
    publisher.publish(Topics.PITR_EVENTS, addonId, PitrWindowChanged.newBuilder().setAddonId(addonId)
        .setState(dev.backstop.schemas.events.PitrState.valueOf(window.state().name()))
        .setEarliest(window.earliest()).setLatest(window.latest()).setReason(window.reason())
        .setBrokenSince(window.brokenSince()).setSlotWarning(window.slotWarning())
        .setSystemId(window.systemId() == 0 ? null : window.systemId())
        .setBases(window.bases().stream().map(b -> new PitrBaseRef(b.backupId(), b.endTime(), b.timeline(),
            b.startLsn().value(), b.stopLsn().value())).toList())
        .setAt(now).build());
    published.replaceOne(Filters.eq("_id", addonId), new PublishedWindow(addonId, window.state(), window.earliest(),
        window.latest(), window.reason(), window.brokenSince(), window.slotWarning(),
        window.systemId() == 0 ? null : window.systemId(), window.bases().stream().map(BaseRef::backupId).toList(), now),
        new ReplaceOptions().upsert(true));
    log.info("PITR window of {}: {}{}", addonId, window.state(), window.reason() == null ? "" : " (" + window.reason() + ")");
    return Optional.of(window);
  }
}
