package dev.backstop.worker.catalog;

import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.in;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.or;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import dev.backstop.kit.catalog.ById;
import dev.backstop.kit.store.StoredRecords;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bson.codecs.pojo.annotations.BsonId;
import org.springframework.stereotype.Component;

/**
 * Caps the dumps running at once against one database host, across every worker: a host has
 * {@code limit} numbered slots, each held by one backup with a lease its job's heartbeat renews, so a
 * dead worker's slot frees itself.
 */
@Component
public class HostSlots {

  /**
   * A slot as stored (collection {@code host_slots}, id {@code <host>#<n>}).
   *
   * @param holder the backup holding it; null when free
   * @param leaseUntil when the holder's lease runs out: a slot whose lease ran out is free
   */
  public record Slot(@BsonId String id, String holder, Instant leaseUntil) {

    boolean freeFor(String backupId, Instant now) {
      return holder == null || holder.equals(backupId) || leaseUntil == null || leaseUntil.isBefore(now);
    }
  }

  private final MongoCollection<Slot> slots;

  public HostSlots(MongoDatabase database) {
    this.slots = StoredRecords.collection(database, "host_slots", Slot.class);
  }

  /** Takes a free slot of {@code host} for {@code backupId}, if one of the {@code limit} is free; returns its id. */
  public Optional<String> acquire(String host, int limit, String backupId, Instant now, Instant leaseUntil) {
    for (int i = 0; i < limit; i++) {
      String slot = host + "#" + i;
      try {
        var result = slots.updateOne(
            ById.filter(slot, or(eq("holder", null), eq("holder", backupId), lt("leaseUntil", Date.from(now)))),
            Updates.combine(Updates.set("holder", backupId), Updates.set("leaseUntil", Date.from(leaseUntil))),
            new UpdateOptions().upsert(true));
        if (result.getMatchedCount() == 1 || result.getUpsertedId() != null) {
          return Optional.of(slot);
        }
      } catch (MongoWriteException e) {
        // the slot exists and is held: the upsert tried to insert a second document with its id
        if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
          throw e;
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Whether one of {@code hosts} has a slot {@code backupId} could take at {@code now}: a cheap look
   * before a job plans its dump (which, on a Business plan, probes the replicas), so that a job waiting
   * for a busy host does not probe its databases at every look.
   */
  public boolean anyFree(Collection<String> hosts, int limit, String backupId, Instant now) {
    List<String> ids = new ArrayList<>();
    hosts.forEach(host -> {
      for (int i = 0; i < limit; i++) {
        ids.add(host + "#" + i);
      }
    });
    Map<String, Slot> held = new HashMap<>();
    slots.find(in("_id", ids)).forEach(slot -> held.put(slot.id(), slot));
    for (String id : ids) {
      Slot slot = held.get(id);
      if (slot == null || slot.freeFor(backupId, now)) {
        return true;
      }
    }
    return false;
  }

  /** Extends the lease of a slot {@code backupId} holds. */
  public void renew(String slot, String backupId, Instant leaseUntil) {
    slots.updateOne(ById.filter(slot, eq("holder", backupId)), Updates.set("leaseUntil", Date.from(leaseUntil)));
  }

  public void release(String slot, String backupId) {
    slots.updateOne(ById.filter(slot, eq("holder", backupId)), Updates.set("holder", null));
  }
}
