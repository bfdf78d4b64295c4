package dev.backstop.kit.catalog;

import dev.backstop.schemas.events.AddonChanged;
import dev.backstop.schemas.events.AddonRegistered;
import dev.backstop.schemas.events.AddonRemoved;
import dev.backstop.schemas.events.AddonSpec;
import java.time.Instant;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;

/** A service's own copy of addons, kept from {@code backstop.addons}; both methods ignore stale revisions. */
public interface AddonProjection {

  boolean upsert(AddonSpec addon, long revision);

  boolean markRemoved(String addonId, long revision);

  /** As {@link #upsert(AddonSpec, long)}, for projections that also keep when each revision happened. */
  default boolean upsert(AddonSpec addon, long revision, Instant occurredAt) {
    return upsert(addon, revision);
  }

  /** As {@link #markRemoved(String, long)}, for projections that also keep when each revision happened. */
  default boolean markRemoved(String addonId, long revision, Instant occurredAt) {
    return markRemoved(addonId, revision);
  }

  /** The handler that feeds this projection from the addons topic. */
  default Consumer<SpecificRecord> consumer() {
    return event -> {
      switch (event) {
        case AddonRegistered e -> upsert(e.getAddon(), e.getRevision(), e.getOccurredAt());
        case AddonChanged e -> upsert(e.getAddon(), e.getRevision(), e.getOccurredAt());
        case AddonRemoved e -> markRemoved(e.getAddonId(), e.getRevision(), e.getOccurredAt());
        default -> { }
      }
    };
  }
}
