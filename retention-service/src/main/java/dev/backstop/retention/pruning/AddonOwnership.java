package dev.backstop.retention.pruning;

/**
 * Which addons this instance decides for. Each addon's retention records belong to exactly one
 * instance at a time, so that two instances never prune the same backups; Kafka's partition
 * assignment decides ({@code messaging.PartitionOwnership}).
 */
public interface AddonOwnership {

  boolean owns(String addonId);
}
