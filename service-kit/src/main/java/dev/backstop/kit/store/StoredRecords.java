package dev.backstop.kit.store;

import com.mongodb.MongoClientSettings;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Updates;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonDocumentReader;
import org.bson.BsonDocumentWriter;
import org.bson.codecs.Codec;
import org.bson.codecs.DecoderContext;
import org.bson.codecs.EncoderContext;
import org.bson.codecs.configuration.CodecRegistries;
import org.bson.codecs.configuration.CodecRegistry;
import org.bson.codecs.record.RecordCodecProvider;
import org.bson.conversions.Bson;

/**
 * The one codec every service stores its state with: Java records (nested records, lists, enums by
 * name, {@link java.time.Instant} as a BSON date, {@link java.time.ZoneId} as its id, {@code byte[]} as
 * binary) through the driver's record codec. The documents it writes are plain BSON that both real
 * MongoDB and the in-process store used by tests read and query alike.
 *
 * <p>Rules for a stored record: it is public (and so is any class it is nested in), since the codec
 * calls its accessors and constructor reflectively; the id component carries {@code @BsonId}; a component that may be
 * absent from a stored document (written by an older version, or by an event that sets only some
 * fields) must be a reference type, because a missing field decodes as {@code null}.
 */
public final class StoredRecords {

  /** Records first, then everything the driver knows ({@code Document}, values, JSR-310 dates). */
  public static final CodecRegistry REGISTRY = CodecRegistries.fromRegistries(
      CodecRegistries.fromProviders(ZoneIdCodec.PROVIDER, new RecordCodecProvider()),
      MongoClientSettings.getDefaultCodecRegistry());

  private StoredRecords() {}

  /** {@code name} in {@code database}, read and written as {@code type}. */
  public static <T> MongoCollection<T> collection(MongoDatabase database, String name, Class<T> type) {
    return database.withCodecRegistry(REGISTRY).getCollection(name, type);
  }

  /**
   * Inserts {@code value} unless a document with its id exists: false then (a redelivered or replayed event
   * finding what it made the first time). Other write errors are thrown.
   */
  public static <T> boolean insertIfAbsent(MongoCollection<T> collection, T value) {
    try {
      collection.insertOne(value);
      return true;
    } catch (com.mongodb.MongoWriteException e) {
      if (e.getError().getCategory() == com.mongodb.ErrorCategory.DUPLICATE_KEY) {
        return false;
      }
      throw e;
    }
  }

  /** The document {@code value} is stored as. */
  @SuppressWarnings("unchecked")
  public static <T> BsonDocument toBson(T value) {
    BsonDocument document = new BsonDocument();
    Codec<T> codec = (Codec<T>) REGISTRY.get(value.getClass());
    codec.encode(new BsonDocumentWriter(document), value, EncoderContext.builder().build());
    return document;
  }

  public static <T> T fromBson(BsonDocument document, Class<T> type) {
    return REGISTRY.get(type).decode(new BsonDocumentReader(document), DecoderContext.builder().build());
  }

  /**
   * An update that sets every stored field of {@code value} (under {@code prefix}, e.g. {@code "state."},
   * or {@code ""} for top-level fields) except those named in {@code except}; fields the record leaves
   * null are unset so that a changed value never keeps a stale one.
   */
  public static Bson setAll(Object value, String prefix, String... except) {
    BsonDocument document = toBson(value);
    List<Bson> updates = new ArrayList<>();
    List<String> skipped = List.of(except);
    for (var component : value.getClass().getRecordComponents()) {
      String field = fieldName(component);
      if (skipped.contains(field)) {
        continue;
      }
      updates.add(document.containsKey(field)
          ? Updates.set(prefix + field, document.get(field))
          : Updates.unset(prefix + field));
    }
    return Updates.combine(updates);
  }

  private static String fieldName(java.lang.reflect.RecordComponent component) {
    if (component.isAnnotationPresent(org.bson.codecs.pojo.annotations.BsonId.class)) {
      return "_id";
    }
    var property = component.getAnnotation(org.bson.codecs.pojo.annotations.BsonProperty.class);
    return property != null && !property.value().isEmpty() ? property.value() : component.getName();
  }
}
