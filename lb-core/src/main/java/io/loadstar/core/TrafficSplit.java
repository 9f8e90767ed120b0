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
 * #rollbackOnErrors}, a canary whose error rate exceeds the stable one's by a margin, or all of
 * whose endpoints outlier detection ejected, is rolled back to 0% (see there).
 */
public final class TrafficSplit {

  private final Map<String, String> tags;
  private final double fromPercent;
  private final double toPercent;
  private final long rampNanos;
  private final boolean fallbackToStable;
  private final double rollbackMargin; // percentage points; NaN: never

  private TrafficSplit(
      Map<String, String> tags,
      double fromPercent,
      double toPercent,
      long rampNanos,
      boolean fallbackToStable,
      double rollbackMargin) {
    this.tags = tags;
    this.fromPercent = fromPercent;
    this.toPercent = toPercent;
    this.rampNanos = rampNanos;
    this.fallbackToStable = fallbackToStable;
    this.rollbackMargin = rollbackMargin;
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
    return new TrafficSplit(new TreeMap<>(tags), 0, 0, 0, true, Double.NaN);
  }

  /**
   * Returns this split with a fixed share.
   *
   * @throws IllegalArgumentException if not in {@code 0..100}
   */
  public TrafficSplit percent(double percent) {
    checkPercent("percent", percent);
    return new TrafficSplit(tags, percent, percent, 0, fallbackToStable, rollbackMargin);
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
        tags, fromPercent, toPercent, over.toNanos(), fallbackToStable, rollbackMargin);
  }

  /**
   * Whether the canary's share goes to the stable endpoints while no canary endpoint is usable.
   * Defaults to true; false fails those picks instead (a strict canary).
   */
  public TrafficSplit fallbackToStable(boolean fallback) {
    return new TrafficSplit(tags, fromPercent, toPercent, rampNanos, fallback, rollbackMargin);
  }

  /**
   * Rolls the canary back to 0% as soon as the calls show it fails more than the stable endpoints
   * by more than {@code percentagePoints}, or when outlier detection has ejected every canary
   * endpoint while a stable one serves. Defaults to never.
   *
   * <p>Both groups are judged over the same recent window (the last {@value
   * CanaryDriver#WINDOW_SECONDS} seconds). The evidence is enough when the canary has failed at
   * least {@value CanaryDriver#MIN_FAILURES} calls in the window and the lower end of its error
   * rate's 95% Wilson interval exceeds the upper end of the stable one's by more than the margin.
   * The check runs on each canary failure (and once a second), not on a call count, so the harm is
   * bounded: a canary failing every call is rolled back at its fifth failure; one failing 20% of
   * calls against a healthy stable group, with a margin of 5 points, after about 5 to 8 failures
   * (figures in the README). Calls already in flight to the canary when it is rolled back still
   * complete there.
   *
   * <p>A rollback sets the {@link SplitControl}'s split to this one at 0% (every balancer using the
   * control follows), tells each balancer's {@code LbEventListener.canaryRolledBack}, counts in
   * {@code loadstar.canary.rollbacks}, and shows in {@code snapshot()} and {@code explain()}.
   * Sticky keys leave rolled-back canary endpoints too. Set a new split to try again.
   *
   * @throws IllegalArgumentException if the margin is not in {@code 0..100}
   */
  public TrafficSplit rollbackOnErrors(double percentagePoints) {
    checkPercent("percentagePoints", percentagePoints);
    return new TrafficSplit(
        tags, fromPercent, toPercent, rampNanos, fallbackToStable, percentagePoints);
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

  /** Whether this split sends nothing to the canary: fixed at 0%. */
  boolean isOff() {
    return rampNanos == 0 && toPercent == 0;
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
        + (rollsBack() ? ", rollback at +" + rollbackMargin + " pp" : "")
        + "}";
  }
}
