package dev.backstop.gateway.pitr;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import dev.backstop.kit.store.StoredRecords;
import dev.backstop.schemas.events.PitrWindowChanged;
import java.time.Instant;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * The recoverable window of each addon as restore requests are checked against it (collection {@code
 * pitr_restore_windows}), from {@code PitrWindowChanged}: the newest event per addon wins, so a replay
 * gives the same state. Only what a restore request needs (state, earliest, latest).
 */
@Component
public class PitrRestoreWindows {

  /** An addon's window: {@code earliest} null while no base is usable. */
  public record Window(@BsonId String addonId, String state, Instant earliest, Instant latest, String reason, Instant at) {}

  private final MongoCollection<Window> windows;

  public PitrRestoreWindows(MongoDatabase database) {
    this.windows = StoredRecords.collection(database, "pitr_restore_windows", Window.class);
  }

  public void apply(PitrWindowChanged event) {
    Window current = windows.find(Filters.eq("_id", event.getAddonId())).first();
    if (current != null && current.at() != null && current.at().isAfter(event.getAt())) {
      return;
    }
    windows.replaceOne(Filters.eq("_id", event.getAddonId()), new Window(event.getAddonId(), event.getState().name(),
        event.getEarliest(), event.getLatest(), event.getReason(), event.getAt()), new ReplaceOptions().upsert(true));
  }

  public Optional<Window> find(String addonId) {
    return Optional.ofNullable(windows.find(Filters.eq("_id", addonId)).first());
  }
}
