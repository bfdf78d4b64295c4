package dev.backstop.notifier.events;

import java.time.Instant;
import org.bson.codecs.pojo.annotations.BsonId;

/**
 * Something customers hear of: one Backstop event as a webhook message. {@code id} is derived from the
 * event's own idempotency key, so the same event read twice is the same message (the {@code webhook-id}
 * receivers deduplicate by), and {@code body} is built once, from the event alone, so every attempt and
 * every replay sends the same bytes.
 *
 * @param id the message id, {@code msg_} and 32 hex digits
 * @param type one of {@link dev.backstop.kit.webhook.WebhookEventTypes}
 * @param occurredAt when it happened (the body's timestamp); endpoints registered later do not get it
 * @param body the JSON document delivered: type, timestamp and data; never a secret or a database's rows
 */
public record Notification(@BsonId String id, String appName, String type, Instant occurredAt, String body) {}
