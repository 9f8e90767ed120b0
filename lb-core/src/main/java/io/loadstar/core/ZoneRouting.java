package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * How a balancer prefers endpoints in its own zone ({@link LoadBalancers.Builder#zone}). Immutable.
 *
 * <p>{@link Policy#EVEN} (the default) follows Envoy's zone-aware routing: it keeps the load per
 * endpoint even across the fleet, assuming the callers are spread over the zones as the endpoints
 * are. While the local zone has at least its share of the usable capacity, every pick stays local;
 * when it has less (endpoints ejected, unhealthy, failing), it keeps the part it can serve and
 * spills the rest to the other zones in proportion to their spare capacity; with no usable local
 * endpoint, everything goes to the other zones. {@link Policy#LOCAL_FIRST} stays local while any
 * local endpoint is usable. Below {@link Builder#minClusterSize} endpoints in a tier, picks ignore
 * zones. Either way a pick falls back to another zone when its zone cannot serve it, so a retry
 * after a local failure may go remote.
 */
public final class ZoneRouting {

  /** The environment variable a balancer reads its zone from, unless told. */
  static final String ZONE_VARIABLE = "LOADSTAR_ZONE";

  /** How the local zone's share is chosen. */
  public enum Policy {
    /** Even load per endpoint across the fleet (Envoy's algorithm); the default. */
    EVEN,
    /** Everything local while any local endpoint is usable. */
    LOCAL_FIRST
  }

  private static final ZoneRouting DISABLED = new ZoneRouting(Policy.EVEN, Integer.MAX_VALUE);
  private static final ZoneRouting DEFAULTS = builder().build();

  private final Policy policy;
  private final int minClusterSize;

  private ZoneRouting(Policy policy, int minClusterSize) {
    this.policy = policy;
    this.minClusterSize = minClusterSize;
  }

  /** The defaults: {@link Policy#EVEN}, from 3 endpoints per tier. */
  public static ZoneRouting defaults() {
    return DEFAULTS;
  }

  /** No zone preference, even with a local zone set. */
  public static ZoneRouting disabled() {
    return DISABLED;
  }

  /** Starts building settings, from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the policy. */
  public Policy policy() {
    return policy;
  }

  /** Returns the fewest endpoints in a tier for zones to count ({@code MAX_VALUE}: disabled). */
  public int minClusterSize() {
    return minClusterSize;
  }

  boolean isEnabled() {
    return minClusterSize != Integer.MAX_VALUE;
  }

  @Override
  public String toString() {
    return isEnabled()
        ? "ZoneRouting{" + policy + ", minClusterSize=" + minClusterSize + "}"
        : "ZoneRouting{disabled}";
  }

  /** Builds {@link ZoneRouting}. Not thread-safe. */
  public static final class Builder {
    private Policy policy = Policy.EVEN;
    private int minClusterSize = 3;

    private Builder() {}

    /** Sets the policy. Defaults to {@link Policy#EVEN}. */
    public Builder policy(Policy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sets the fewest endpoints a tier must list for zones to count: below it, one ejection would
     * move a large part of the traffic, so picks ignore zones. Defaults to 3.
     *
     * @throws IllegalArgumentException if not in {@code 1..10000}
     */
    public Builder minClusterSize(int size) {
      if (size < 1 || size > 10_000) {
        throw new IllegalArgumentException("minClusterSize: " + size + " (expected: 1..10000)");
      }
      this.minClusterSize = size;
      return this;
    }

    /** Returns the settings. */
    public ZoneRouting build() {
      return new ZoneRouting(policy, minClusterSize);
    }
  }

  /** The zone in {@code value} (the environment's), or none if unset or invalid (logged). */
  static String zoneFromEnvironment(@Nullable String value) {
    if (value == null || value.isBlank()) {
      return "";
    }
    try {
      return Checks.zone(ZONE_VARIABLE, value);
    } catch (IllegalArgumentException e) {
      LoggerFactory.getLogger(ZoneRouting.class)
          .warn("ignoring the environment's zone, {}; no zone preference", e.getMessage());
      return "";
    }
  }
}
