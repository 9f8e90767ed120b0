package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * What {@link Attempt#failed} or {@link Attempt#refused} decided: retry after a delay, stop because
 * the policy, the budget or the call's time said no, or stop because every usable endpoint has been
 * tried. A retry's endpoint is picked by {@link BalancedCall#next()} once the delay has passed.
 * Immutable.
 */
public final class RetryDecision {

  private static final RetryDecision STOP = new RetryDecision(false, 0, null);
  private static final RetryDecision AT_ONCE = new RetryDecision(true, 0, null);

  private final boolean retry;
  private final long delayNanos;
  private final @Nullable String unavailableReason;

  private RetryDecision(boolean retry, long delayNanos, @Nullable String unavailableReason) {
    this.retry = retry;
    this.delayNanos = delayNanos;
    this.unavailableReason = unavailableReason;
  }

  /** No retry: the policy, the budget or the call's remaining time said no. */
  public static RetryDecision stop() {
    return STOP;
  }

  /** No retry: the policy allowed one, but nothing is left to pick, for {@code reason}. */
  public static RetryDecision noEndpoint(String reason) {
    return new RetryDecision(false, 0, requireNonNull(reason, "reason"));
  }

  /**
   * Retry after {@code delayNanos} (0: at once), on the endpoint {@link BalancedCall#next()} picks
   * then.
   *
   * @throws IllegalArgumentException if the delay is negative
   */
  public static RetryDecision retry(long delayNanos) {
    if (delayNanos < 0) {
      throw new IllegalArgumentException("delayNanos: " + delayNanos + " (expected: >= 0)");
    }
    return delayNanos == 0 ? AT_ONCE : new RetryDecision(true, delayNanos, null);
  }

  /** Returns whether the call is retried. */
  public boolean isRetry() {
    return retry;
  }

  /** Returns how long to wait before the retry, in nanoseconds; 0 if not a retry. */
  public long delayNanos() {
    return delayNanos;
  }

  /**
   * Returns why the retry the policy allowed found no endpoint, or null if it is a retry or the
   * policy said no.
   */
  public @Nullable String unavailableReason() {
    return unavailableReason;
  }

  @Override
  public String toString() {
    if (retry) {
      return "retry after " + delayNanos + " ns";
    }
    return unavailableReason != null ? "stop: " + unavailableReason : "stop";
  }
}
