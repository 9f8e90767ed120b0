package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import java.time.Duration;

/**
 * Slow start, like HAProxy's {@code slowstart} and Envoy's slow start mode: an endpoint that joins
 * a running balancer, or comes back from being unhealthy, ejected or drained, starts at {@link
 * #floorPercent()} of its weight and ramps linearly to full weight over {@link #window()}. The
 * first list a balancer receives does not ramp. Applies to round robin, random, least request and
 * peak EWMA; consistent hashing never ramps (it would move keys). Give it to {@link
 * LoadBalancers.Builder#slowStart(SlowStartConfig)}.
 *
 * <p>Immutable and thread-safe.
 */
public final class SlowStartConfig {

  private static final SlowStartConfig DEFAULTS = new SlowStartConfig(Duration.ofSeconds(30), 10);

  private final Duration window;
  private final int floorPercent;

  private SlowStartConfig(Duration window, int floorPercent) {
    this.window = window;
    this.floorPercent = floorPercent;
  }

  /** Returns slow start over 30 s from 10% of the weight. */
  public static SlowStartConfig defaults() {
    return DEFAULTS;
  }

  /**
   * Returns slow start over {@code window} from 10% of the weight.
   *
   * @throws IllegalArgumentException if not in {@code 1s..1h}
   */
  public static SlowStartConfig of(Duration window) {
    return DEFAULTS.withWindow(window);
  }

  /**
   * Returns these settings ramping over {@code window}.
   *
   * @throws IllegalArgumentException if not in {@code 1s..1h}
   */
  public SlowStartConfig withWindow(Duration window) {
    requireNonNull(window, "window");
    Checks.duration("slowStart window", window, Duration.ofSeconds(1), Duration.ofHours(1));
    return new SlowStartConfig(window, floorPercent);
  }

  /**
   * Returns these settings starting at {@code percent} of the weight (Envoy's {@code
   * min_weight_percent}): low enough that a cold endpoint is not overwhelmed, high enough that it
   * warms up.
   *
   * @throws IllegalArgumentException if not in {@code 1..100}
   */
  public SlowStartConfig withFloorPercent(int percent) {
    if (percent < 1 || percent > 100) {
      throw new IllegalArgumentException(
          "slowStart floorPercent: " + percent + " (expected: 1..100)");
    }
    return new SlowStartConfig(window, percent);
  }

  /** Returns how long an endpoint ramps up. */
  public Duration window() {
    return window;
  }

  /** Returns the share of its weight, in percent, an endpoint starts at. */
  public int floorPercent() {
    return floorPercent;
  }

  @Override
  public String toString() {
    return "SlowStartConfig{window=" + window + ", floorPercent=" + floorPercent + '}';
  }
}
