package dev.backstop.notifier.events;

import java.time.Instant;
import java.util.List;

/**
 * The notifications of the last {@code maxEventAge}, kept so that an endpoint whose registration is read
 * after the event it should hear of (the topics are read independently) still gets it.
 */
public interface RecentNotifications {

  /** Keeps it; false if it was already kept. */
  boolean keep(Notification notification);

  /** The app's notifications that occurred at or after {@code since}, oldest first. */
  List<Notification> ofAppSince(String appName, Instant since);

  /** Forgets those that occurred before {@code before}; how many. */
  long forgetBefore(Instant before);
}
