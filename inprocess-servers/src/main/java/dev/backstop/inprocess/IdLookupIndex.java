package dev.backstop.inprocess;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.KeyConstraintError;
import java.util.List;

/**
 * The {@code _id} index of the in-process store, answering the queries MongoDB answers from it.
 *
 * <p>mongo-java-server uses an index only for a query on exactly its keys: {@code {_id: x}} is a
 * lookup, but {@code {_id: x, rank: {$lt: 2}}} (a conditional update, the way every Backstop consumer
 * stays idempotent) scans the whole collection, about 300 ms at a million documents. MongoDB narrows
 * such a query by {@code _id} first and tests the rest on the one document found; so does this index:
 * it hands the store the documents of that {@code _id}, which the store then matches against the whole
 * query as it does after any index lookup. Top-level conditions are always ANDed, so the answer is
 * the same.
 */
final class IdLookupIndex<P> extends Index<P> {

  private static final String ID = "_id";

  private final Index<P> delegate;

  private IdLookupIndex(Index<P> delegate) {
    super(delegate.getName(), delegate.getKeys(), false);
    this.delegate = delegate;
  }

  /** {@code index} itself unless it is the {@code _id} index. */
  static <P> Index<P> wrap(Index<P> index) {
    List<IndexKey> keys = index.getKeys();
    return keys.size() == 1 && keys.get(0).getKey().equals(ID) ? new IdLookupIndex<>(index) : index;
  }

  /** The part of {@code query} this index answers: its {@code _id} condition alone. */
  private static Document byId(Document query) {
    return query.size() > 1 && query.containsKey(ID) ? new Document(ID, query.get(ID)) : query;
  }

  @Override
  public boolean canHandle(Document query) {
    return delegate.canHandle(byId(query));
  }

  @Override
  public Iterable<P> getPositions(Document query) {
    return delegate.getPositions(byId(query));
  }

  @Override
  public P getPosition(Document document) {
    return delegate.getPosition(document);
  }

  @Override
  public void checkAdd(Document document, MongoCollection<P> collection) {
    delegate.checkAdd(document, collection);
  }

  @Override
  public void add(Document document, P position, MongoCollection<P> collection) {
    delegate.add(document, position, collection);
  }

  @Override
  public P remove(Document document) {
    return delegate.remove(document);
  }

  @Override
  public long getCount() {
    return delegate.getCount();
  }

  @Override
  public boolean isEmpty() {
    return delegate.isEmpty();
  }

  @Override
  public long getDataSize() {
    return delegate.getDataSize();
  }

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<P> collection) {
    delegate.checkUpdate(oldDocument, newDocument, collection);
  }

  @Override
  public void updateInPlace(Document oldDocument, Document newDocument, P position, MongoCollection<P> collection)
      throws KeyConstraintError {
    delegate.updateInPlace(oldDocument, newDocument, position, collection);
  }

  @Override
  public void drop() {
    delegate.drop();
  }

  @Override
  public boolean isUnique() {
    return delegate.isUnique();
  }
}
