package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * What {@link RetryState#onFailure} decided: retry on an endpoint after a delay, or stop, either
 * because the policy, the budget or the call's time said no, or because every usable endpoint has
 * been tried. Immutable.
 */
public final class RetryDecision {

  private static final RetryDecision STOP = new RetryDecision(null, 0, null);

  private final @Nullable PickResult next;
  private final long delayNanos;
  private final @Nullable String unavailableReason;

  private RetryDecision(
      @Nullable PickResult next, long delayNanos, @Nullable String unavailableReason) {
    this.next = next;
    this.delayNanos = delayNanos;
    this.unavailableReason = unavailableReason;
  }

  /** No retry: the policy, the budget or the call's remaining time said no. */
  public static RetryDecision stop() {
    return STOP;
  }

  /** No retry: the policy allowed one, but nothing is left to pick, for {@code reason}. */
  public static RetryDecision noEndpoint(String reason) {
    return new RetryDecision(null, 0, requireNonNull(reason, "reason"));
  }

  /**
   * Retry on {@code next} (an available pick, whose handle the driver now owns) after {@code
   * delayNanos}.
   *
   * @throws IllegalArgumentException if {@code next} is not available or the delay is negative
   */
  public static RetryDecision retry(PickResult next, long delayNanos) {
    if (!requireNonNull(next, "next").isAvailable()) {
      throw new IllegalArgumentException("next: " + next + " (expected: an available pick)");
    }
    if (delayNanos < 0) {
      throw new IllegalArgumentException("delayNanos: " + delayNanos + " (expected: >= 0)");
    }
    return new RetryDecision(next, delayNanos, null);
  }

  /** Returns whether the call is retried. */
  public boolean isRetry() {
    return next != null;
  }

  /**
   * Returns the next attempt's pick.
   *
   * @throws IllegalStateException if this is not a retry
   */
  public PickResult next() {
    if (next == null) {
      throw new IllegalStateException("not a retry: " + this);
    }
    return next;
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
    if (next != null) {
      return "retry on " + next.endpoint() + " after " + delayNanos + " ns";
    }
    return unavailableReason != null ? "stop: " + unavailableReason : "stop";
  }
}
