package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Sticky affinity for picks with a hash key ({@code PickContext.ofHashKey}, or an OkHttp request's
 * key): a key keeps going to one endpoint while that endpoint is usable; when it is not (ejected,
 * unhealthy, drained), the key moves to one fallback, the next endpoint for that key, not spread
 * over all; and the return policy decides when it moves back. Keys are placed on a hash ring over
 * every listed endpoint of a tier, so one endpoint leaving moves only its own keys. Keyed picks
 * follow the key, not the zone preference or the canary split; picks without a key are unchanged.
 * Immutable.
 */
public final class Affinity {

  /** When a key moves back to its endpoint after a fallback. */
  public enum Return {
    /** As soon as the endpoint is usable again. */
    IMMEDIATELY,
    /** Once the endpoint has been usable for a while (it may be warming up or flapping). */
    AFTER_HEALTHY_FOR,
    /** Never: a key that moved stays on its fallback while that one is usable. */
    NEVER
  }

  private final Return returnPolicy;
  private final long healthyForNanos;
  private final long maxMovedKeys;

  private Affinity(Return returnPolicy, long healthyForNanos, long maxMovedKeys) {
    this.returnPolicy = returnPolicy;
    this.healthyForNanos = healthyForNanos;
    this.maxMovedKeys = maxMovedKeys;
  }

  /** Keys move back as soon as their endpoint is usable again. */
  public static Affinity returnImmediately() {
    return new Affinity(Return.IMMEDIATELY, 0, 0);
  }

  /**
   * Keys move back once their endpoint has been usable for {@code healthyFor}.
   *
   * @throws IllegalArgumentException if not in {@code 1s..1d}
   */
  public static Affinity returnAfter(Duration healthyFor) {
    requireNonNull(healthyFor, "healthyFor");
    if (healthyFor.compareTo(Duration.ofSeconds(1)) < 0
        || healthyFor.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException("healthyFor: " + healthyFor + " (expected: 1s..1d)");
    }
    return new Affinity(Return.AFTER_HEALTHY_FOR, healthyFor.toNanos(), 0);
  }

  /**
   * Keys that moved never move back. The balancer remembers up to {@code maxMovedKeys} of them (a
   * Caffeine cache, least recently used out first, and forgotten after an hour unused); a key it
   * forgot goes back to its endpoint.
   *
   * @throws IllegalArgumentException if {@code maxMovedKeys} is not in {@code 1..10000000}
   */
  public static Affinity neverReturn(long maxMovedKeys) {
    if (maxMovedKeys < 1 || maxMovedKeys > 10_000_000) {
      throw new IllegalArgumentException(
          "maxMovedKeys: " + maxMovedKeys + " (expected: 1..10000000)");
    }
    return new Affinity(Return.NEVER, 0, maxMovedKeys);
  }

  /** Returns the return policy. */
  public Return returnPolicy() {
    return returnPolicy;
  }

  long healthyForNanos() {
    return healthyForNanos;
  }

  long maxMovedKeys() {
    return maxMovedKeys;
  }

  @Override
  public String toString() {
    switch (returnPolicy) {
      case AFTER_HEALTHY_FOR:
        return "Affinity{return after " + Duration.ofNanos(healthyForNanos) + " healthy}";
      case NEVER:
        return "Affinity{never return, remember " + maxMovedKeys + " moved keys}";
      default:
        return "Affinity{return immediately}";
    }
  }
}
