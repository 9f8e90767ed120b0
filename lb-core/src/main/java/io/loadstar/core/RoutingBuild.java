package io.loadstar.core;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What the stages of one snapshot build share: the statuses they record routes in, the time, each
 * tier's listed endpoints, the canary split in force, and when the snapshot must be rebuilt (a
 * stage that depends on time lowers it). Made per build; control loop only.
 */
final class RoutingBuild {
  final BuildStatuses statuses;
  final long now;
  final Map<Integer, List<EndpointState>> allByTier;
  final @Nullable TrafficSplit split;
  final String rolledBack;
  private long rebuildAt = Long.MAX_VALUE;

  RoutingBuild(
      BuildStatuses statuses,
      long now,
      Map<Integer, List<EndpointState>> allByTier,
      @Nullable TrafficSplit split,
      String rolledBack) {
    this.statuses = statuses;
    this.now = now;
    this.allByTier = allByTier;
    this.split = split;
    this.rolledBack = rolledBack;
  }

  /** The snapshot must be rebuilt at {@code nanos} at the latest. */
  void rebuildBy(long nanos) {
    rebuildAt = Math.min(rebuildAt, nanos);
  }

  /** When the snapshot must be rebuilt, or Long.MAX_VALUE. */
  long rebuildAt() {
    return rebuildAt;
  }
}
