package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * A canary split: a share of the picks to the endpoints whose tags match (for example {@code
 * version=v2}), the rest to the others. Both subsets keep the balancer's strategy, health checks,
 * outlier detection and retries; each tier is split on its own. Immutable: change a running split
 * through its {@link SplitControl}.
 *
 * <pre>{@code
 * TrafficSplit.toTag("version", "v2").percent(5);                          // fixed 5%
 * TrafficSplit.toTag("version", "v2").ramp(1, 50, Duration.ofMinutes(30)); // 1% -> 50% in 30 min
 * }</pre>
 *
 * <p>When no canary endpoint is usable, its share goes to the stable ones ({@link
 * #fallbackToStable(boolean)}); when no stable one is, everything goes to the canary. With {@link
 * #rollbackOnErrors}, a canary whose error rate exceeds the stable one's by a margin is rolled back
 * to 0%, with an event ({@code LbEventListener.canaryRolledBack}) and the reason in the canary
 * endpoints' {@code snapshot()}.
 */
public final class TrafficSplit {

  private final Map<String, String> tags;
  private final double fromPercent;
  private final double toPercent;
  private final long rampNanos;
  private final boolean fallbackToStable;
  private final double rollbackMargin; // percentage points; NaN: never
  private final int rollbackMinCalls;

  private TrafficSplit(
      Map<String, String> tags,
      double fromPercent,
      double toPercent,
      long rampNanos,
      boolean fallbackToStable,
      double rollbackMargin,
      int rollbackMinCalls) {
    this.tags = tags;
    this.fromPercent = fromPercent;
    this.toPercent = toPercent;
    this.rampNanos = rampNanos;
    this.fallbackToStable = fallbackToStable;
    this.rollbackMargin = rollbackMargin;
    this.rollbackMinCalls = rollbackMinCalls;
  }

  /** A split to the endpoints tagged {@code name=value}, at 0% until a percentage is set. */
  public static TrafficSplit toTag(String name, String value) {
    return toTags(Map.of(requireNonNull(name, "name"), requireNonNull(value, "value")));
  }

  /** A split to the endpoints carrying every one of {@code tags}, at 0% until set. */
  public static TrafficSplit toTags(Map<String, String> tags) {
    requireNonNull(tags, "tags");
    if (tags.isEmpty()) {
      throw new IllegalArgumentException(
          "tags: {} (expected: at least one tag the canary endpoints carry, such as version=v2)");
    }
    return new TrafficSplit(new TreeMap<>(tags), 0, 0, 0, true, Double.NaN, 0);
  }

  /**
   * Returns this split with a fixed share.
   *
   * @throws IllegalArgumentException if not in {@code 0..100}
   */
  public TrafficSplit percent(double percent) {
    checkPercent("percent", percent);
    return new TrafficSplit(
        tags, percent, percent, 0, fallbackToStable, rollbackMargin, rollbackMinCalls);
  }

  /**
   * Returns this split with a share that moves linearly from {@code fromPercent} to {@code
   * toPercent} over {@code over}, from when a balancer applies it, and then stays; the balancer
   * advances it every second on its own timer.
   *
   * @throws IllegalArgumentException if a percentage is not in {@code 0..100} or {@code over} not
   *     in {@code 1s..30d}
   */
  public TrafficSplit ramp(double fromPercent, double toPercent, Duration over) {
    checkPercent("fromPercent", fromPercent);
    checkPercent("toPercent", toPercent);
    requireNonNull(over, "over");
    if (over.compareTo(Duration.ofSeconds(1)) < 0 || over.compareTo(Duration.ofDays(30)) > 0) {
      throw new IllegalArgumentException("over: " + over + " (expected: 1s..30d)");
    }
    return new TrafficSplit(
        tags,
        fromPercent,
        toPercent,
        over.toNanos(),
        fallbackToStable,
        rollbackMargin,
        rollbackMinCalls);
  }

  /**
   * Whether the canary's share goes to the stable endpoints while no canary endpoint is usable.
   * Defaults to true; false fails those picks instead (a strict canary).
   */
  public TrafficSplit fallbackToStable(boolean fallback) {
    return new TrafficSplit(
        tags, fromPercent, toPercent, rampNanos, fallback, rollbackMargin, rollbackMinCalls);
  }

  /**
   * Rolls the canary back to 0% when, after at least {@code minCalls} canary calls since the split
   * was applied, its error rate exceeds the stable endpoints' by more than {@code
   * percentagePoints}. Checked every second. Defaults to never.
   *
   * @throws IllegalArgumentException if the margin is not in {@code 0..100} or {@code minCalls} not
   *     in {@code 1..1000000}
   */
  public TrafficSplit rollbackOnErrors(double percentagePoints, int minCalls) {
    checkPercent("percentagePoints", percentagePoints);
    if (minCalls < 1 || minCalls > 1_000_000) {
      throw new IllegalArgumentException("minCalls: " + minCalls + " (expected: 1..1000000)");
    }
    return new TrafficSplit(
        tags, fromPercent, toPercent, rampNanos, fallbackToStable, percentagePoints, minCalls);
  }

  /** Returns the tags a canary endpoint carries. */
  public Map<String, String> tags() {
    return tags;
  }

  /** Returns the share, in percent, {@code elapsed} after the split was applied. */
  public double percentAt(Duration elapsed) {
    return percentAtNanos(elapsed.toNanos());
  }

  double percentAtNanos(long elapsedNanos) {
    if (rampNanos == 0 || elapsedNanos >= rampNanos) {
      return toPercent;
    }
    return fromPercent + (toPercent - fromPercent) * Math.max(0, elapsedNanos) / rampNanos;
  }

  boolean ramps() {
    return rampNanos > 0;
  }

  boolean fallsBackToStable() {
    return fallbackToStable;
  }

  boolean rollsBack() {
    return !Double.isNaN(rollbackMargin);
  }

  double rollbackMargin() {
    return rollbackMargin;
  }

  int rollbackMinCalls() {
    return rollbackMinCalls;
  }

  boolean matches(Endpoint e) {
    Map<String, String> t = e.tags();
    for (Map.Entry<String, String> want : tags.entrySet()) {
      if (!want.getValue().equals(t.get(want.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static void checkPercent(String what, double p) {
    if (!(p >= 0 && p <= 100)) {
      throw new IllegalArgumentException(what + ": " + p + " (expected: 0..100)");
    }
  }

  @Override
  public String toString() {
    String share =
        rampNanos == 0
            ? toPercent + "%"
            : fromPercent + "% -> " + toPercent + "% over " + Duration.ofNanos(rampNanos);
    return "TrafficSplit{"
        + tags
        + ": "
        + share
        + (fallbackToStable ? "" : ", no fallback")
        + (rollsBack() ? ", rollback at +" + rollbackMargin + " pp after " + rollbackMinCalls : "")
        + "}";
  }
}
