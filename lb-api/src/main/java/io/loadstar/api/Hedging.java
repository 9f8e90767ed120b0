package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * When an idempotent call sends a second attempt to another endpoint while its first is still
 * waiting ("The Tail at Scale", Dean and Barroso, 2013): the first answer wins and the other
 * attempt is cancelled. A hedge sent at the service's p95 costs about 5% more attempts and takes
 * the slowest few percent of calls from one endpoint's worst case to the better of two draws.
 *
 * <p>A call sends at most one hedge, after its first attempt has waited the hedging delay, and only
 * when that can help and does no harm:
 *
 * <ul>
 *   <li>the call is idempotent, and the policy allows a second attempt ({@code maxAttempts} of 2 or
 *       more);
 *   <li>another endpoint than the first attempt's is usable, and the service is not in panic (a
 *       hedge then adds load where it hurts);
 *   <li>the retry budget has room: a hedge counts as a retry, so hedges and retries together stay
 *       within {@link RetryPolicy#budgetPercent()} of the calls; and hedges alone stay within
 *       {@link #maxExtraLoad()} of them (5% at the p95);
 *   <li>the delay is known: an adaptive delay needs 20 measured successes (see {@link
 *       RecentLatency}).
 * </ul>
 *
 * <p>With a hedge in flight, an attempt that fails waits for the other one; when both fail the call
 * is retried as the policy says. A driver hedges only if it can send two attempts of a call at once
 * and cancel one ({@link AttemptLoop.Driver#cancel}); lb-okhttp's interceptor does.
 *
 * <p>{@link #off()} is the default: hedging spends more of the service's capacity to cut the tail,
 * a trade each service makes for itself. The {@link AttemptTimeout adaptive attempt timeout}
 * already bounds what a hung backend costs a call.
 *
 * <p>Immutable and thread-safe.
 */
public final class Hedging {

  private static final Hedging OFF = new Hedging(0, 0, 0);
  private static final Hedging ADAPTIVE = new Hedging(0.95, 1_000_000L, 0);

  private final double percentile; // 0: not adaptive
  private final long minNanos;
  private final long fixedNanos; // 0: not fixed

  private Hedging(double percentile, long minNanos, long fixedNanos) {
    this.percentile = percentile;
    this.minNanos = minNanos;
    this.fixedNanos = fixedNanos;
  }

  /** No hedging: each attempt is waited for until it answers, fails or times out. The default. */
  public static Hedging off() {
    return OFF;
  }

  /**
   * A hedge after the same delay for every call.
   *
   * @throws IllegalArgumentException if not in {@code 1ms..1m}
   */
  public static Hedging after(Duration delay) {
    requireNonNull(delay, "delay");
    Checks.duration("hedging delay", delay, Duration.ofMillis(1), Duration.ofMinutes(1));
    return new Hedging(0, 0, delay.toNanos());
  }

  /**
   * A hedge once the first attempt has waited longer than 95% of the service's recent successful
   * attempts (its p95 over the last 10 s, or 60 s with fewer than 20 successes in 10 s), at least 1
   * ms; none until 20 successes were measured.
   */
  public static Hedging adaptive() {
    return ADAPTIVE;
  }

  /**
   * A hedge once the first attempt has waited longer than {@code quantile} of the service's recent
   * successful attempts, at least {@code min}; none until 20 successes were measured.
   *
   * @throws IllegalArgumentException if {@code quantile} is not in {@code 0.5..0.999} or {@code
   *     min} not in {@code 0..1m}
   */
  public static Hedging adaptive(double quantile, Duration min) {
    requireNonNull(min, "min");
    if (!(quantile >= 0.5 && quantile <= 0.999)) {
      throw new IllegalArgumentException(
          "hedging quantile: " + quantile + " (expected: 0.5..0.999, such as 0.95 for the p95)");
    }
    Checks.duration("hedging min", min, Duration.ZERO, Duration.ofMinutes(1));
    return new Hedging(quantile, min.toNanos(), 0);
  }

  /** Returns whether calls are hedged at all. */
  public boolean isEnabled() {
    return percentile > 0 || fixedNanos > 0;
  }

  /** Returns whether the delay follows the service's live latency. */
  public boolean isAdaptive() {
    return percentile > 0;
  }

  /** Returns the quantile of recent latency an adaptive delay waits (0 if not adaptive). */
  public double quantile() {
    return percentile;
  }

  /** Returns the least an adaptive delay waits ({@link Duration#ZERO} if not adaptive). */
  public Duration min() {
    return Duration.ofNanos(minNanos);
  }

  /** Returns the fixed delay ({@link Duration#ZERO} if not fixed). */
  public Duration fixed() {
    return Duration.ofNanos(fixedNanos);
  }

  /**
   * Returns the most hedges a service sends, as a share of its calls over the retry budget's window
   * (or the budget's floor of retries, if more): {@code 1 - quantile} for an adaptive delay (5% at
   * the p95), 5% for a fixed one; 0 when off. A delay that lags behind a service slowing down would
   * otherwise hedge far more calls than its quantile says, just when the extra load hurts most.
   */
  public double maxExtraLoad() {
    if (fixedNanos > 0) {
      return 0.05;
    }
    return percentile > 0 ? 1 - percentile : 0;
  }

  /**
   * The delay in nanoseconds when the service's recent {@link #quantile()} is {@code quantileNanos}
   * (negative when too few calls succeeded to tell); {@code Long.MAX_VALUE} for no hedge.
   */
  public long delayNanos(long quantileNanos) {
    if (fixedNanos > 0) {
      return fixedNanos;
    }
    if (percentile == 0 || quantileNanos < 0) {
      return Long.MAX_VALUE;
    }
    return Math.max(minNanos, quantileNanos);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof Hedging)) {
      return false;
    }
    Hedging h = (Hedging) o;
    return Double.compare(percentile, h.percentile) == 0
        && minNanos == h.minNanos
        && fixedNanos == h.fixedNanos;
  }

  @Override
  public int hashCode() {
    return (Double.hashCode(percentile) * 31 + Long.hashCode(minNanos)) * 31
        + Long.hashCode(fixedNanos);
  }

  @Override
  public String toString() {
    if (fixedNanos > 0) {
      return "Hedging{after " + fixed() + '}';
    }
    if (percentile == 0) {
      return "Hedging{off}";
    }
    return "Hedging{at the " + (percentile * 100) + "th percentile, min " + min() + '}';
  }
}
