package io.loadstar.api;

/**
 * One attempt of a {@link BalancedCall}: the endpoint picked for it, and the one place its outcome
 * is reported. A failure is reported and decided in one step: {@link #failed} counts the failure
 * against the endpoint and answers whether the call is retried, after which delay, or why not.
 *
 * <p>Exactly one of {@link #succeeded}, {@link #failed}, {@link #refused}, {@link #cancelled} or
 * {@link #overtaken} is called once on an available attempt, from any thread; a second report
 * throws. An unavailable attempt ({@link #isAvailable()} false) says only why nothing could be
 * picked.
 */
public interface Attempt {

  /** Returns whether an endpoint was picked for this attempt. */
  boolean isAvailable();

  /**
   * Returns the endpoint to send this attempt to.
   *
   * @throws IllegalStateException if the attempt is unavailable
   */
  Endpoint endpoint();

  /**
   * Returns why nothing could be picked.
   *
   * @throws IllegalStateException if the attempt is available
   */
  String reason();

  /** Returns this attempt's number in its call, from 1. */
  int number();

  /** Returns the nanoseconds since this attempt's endpoint was picked, on the balancer's ticker. */
  long elapsedNanos();

  /**
   * Returns how long this attempt may wait before the driver gives it up, so that the call is
   * retried on another endpoint ({@link RetryPolicy#attemptTimeout()}), in nanoseconds; {@code
   * Long.MAX_VALUE} when giving up could not help (the call's last allowed attempt, no retry budget
   * left, no other endpoint usable) or no timeout is configured. A driver bounds with it the wait
   * for the connection, for every call, and the wait for the answer (its headers and the body it
   * reads ahead) only when the call is {@link BalancedCall#idempotent() idempotent}; it reports a
   * timeout as {@link #failed} and does not apply it to a body handed to the caller. Decided when
   * first asked, then the same for the attempt.
   */
  default long timeoutNanos() {
    return Long.MAX_VALUE;
  }

  /** The endpoint answered and the answer is kept: reports a success after {@code latencyNanos}. */
  void succeeded(long latencyNanos);

  /**
   * The attempt failed as {@code failure} says: reports it against the endpoint, then decides, as
   * the balancer's {@link RetryPolicy} and retry budget allow, whether the call is retried on an
   * endpoint it has not tried. The retry's endpoint is picked by {@link BalancedCall#next()} after
   * the decision's delay, so no endpoint's in-flight slot is held while the call waits.
   *
   * @param failure how the attempt failed
   * @param latencyNanos how long the attempt took
   * @param retryAfterNanos the pause the endpoint asked for ({@code Retry-After}), or negative if
   *     none
   * @param remainingNanos the time the call has left ({@code Long.MAX_VALUE} for no limit): no
   *     retry whose delay would use it all up; 0 reports the failure only (an answer already handed
   *     to the caller broke, a body that cannot be sent twice), spending nothing of the budget
   * @return retry after a delay, stop, or nothing left to pick (found before a delay is waited out;
   *     a retry at once learns it from {@link BalancedCall#next()}, unavailable with the reason)
   * @throws IllegalStateException if the attempt was reported already, or is unavailable
   */
  RetryDecision failed(
      CallFailure failure, long latencyNanos, long retryAfterNanos, long remainingNanos);

  /** {@link #failed(CallFailure, long, long, long)} with no pause asked for and no time limit. */
  default RetryDecision failed(CallFailure failure, long latencyNanos) {
    return failed(failure, latencyNanos, -1, Long.MAX_VALUE);
  }

  /**
   * The endpoint answered, but with an answer the policy retries without blaming it (a status in
   * {@link RetryPolicy#isRetryableStatus} that the driver does not count as a failure, such as
   * 429): reports a success after {@code latencyNanos}, then decides as {@link #failed} does.
   */
  RetryDecision refused(
      CallFailure answer, long latencyNanos, long retryAfterNanos, long remainingNanos);

  /**
   * The attempt was abandoned before its outcome said anything about the endpoint (the caller
   * cancelled, or a bug outside the endpoint): releases its in-flight slot only, and ends the call.
   */
  void cancelled();

  /**
   * Another attempt of the call answered first (a hedge, or the attempt it hedged), and this one
   * was given up after {@code elapsedNanos}: reported as {@link CallHandle#onOvertaken}, which
   * releases the slot, blames nothing, and ends the attempt. {@link AttemptLoop} reports it for the
   * attempts it cancels. Defaults to {@link #cancelled()}.
   */
  default void overtaken(long elapsedNanos) {
    cancelled();
  }
}
